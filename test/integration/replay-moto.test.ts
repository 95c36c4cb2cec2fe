import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { CreateDeliveryStreamCommand, FirehoseClient } from "@aws-sdk/client-firehose";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type Envelope, makeDeadLetter, makeEnvelope, serializeEnvelope } from "../../src/records/envelope.js";
import { CLI_PATH } from "../helpers/cli.js";
import { type Moto, motoMissingReason, startMoto } from "../helpers/moto.js";
import { responseWebhook } from "../helpers/webhook.js";

const skip = motoMissingReason();
const BUCKET = "lake";
const STREAM = "wootric";

let moto: Moto;
let s3: S3Client;
let firehose: FirehoseClient;
const dirs: string[] = [];

async function put(key: string, body: Buffer | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

/** Every line delivered by the stream (moto writes one object per PutRecordBatch under the stream's prefix). */
async function delivered(): Promise<string[]> {
  const lines: string[] = [];
  const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "delivered/" }));
  for (const o of page.Contents ?? []) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }))).Body!.transformToString();
    lines.push(...body.split(/(?<=\n)/).filter((l) => l.length > 0));
  }
  return lines;
}

async function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), "wf-replay-moto-"));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [CLI_PATH, "replay", ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      ...moto.env,
      FIREHOSE_STREAM_NAME: STREAM,
      DATA_DIR: dir,
      STATE_URL: `s3://${BUCKET}/state`,
      DATA_URL: `s3://${BUCKET}/wootric`,
      DEAD_LETTER_URL: `s3://${BUCKET}/errors/oversize`,
      FIREHOSE_ERROR_URL: `s3://${BUCKET}/errors/firehose`,
      FIREHOSE_LINGER_MS: "20",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("replay and re-drive against moto S3 and Firehose (spawned CLI)", { skip }, () => {
  before(async () => {
    moto = await startMoto();
    const common = {
      region: "us-east-1",
      endpoint: moto.endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    };
    s3 = new S3Client({
      ...common,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    firehose = new FirehoseClient(common);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: STREAM,
        DeliveryStreamType: "DirectPut",
        ExtendedS3DestinationConfiguration: {
          RoleARN: "arn:aws:iam::123456789012:role/firehose-delivery",
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          Prefix: "delivered/",
          ErrorOutputPrefix: "errors/firehose/",
          CompressionFormat: "UNCOMPRESSED",
        },
      }),
    );
  });
  after(async () => {
    s3?.destroy();
    firehose?.destroy();
    await moto?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test("dead letters under DATA_URL (gzip, Firehose-delivered) and DEAD_LETTER_URL are recovered once", async () => {
    // An older parser dead-lettered a webhook whose external_id was a number, and a polled response with one tag.
    const body = responseWebhook(501, { external_id: 98765 });
    const webhookDead = makeDeadLetter({
      reason: "response record is invalid: external_id: expected string, received number",
      raw: body,
      source: "webhook",
      intendedEntity: "response",
      contentType: "application/json",
      receivedAt: new Date("2026-02-01T10:00:00Z"),
    });
    const hopeless = makeDeadLetter({
      reason: "body is not valid JSON",
      raw: "{nope",
      source: "webhook",
      contentType: "application/json",
      receivedAt: new Date("2026-02-01T10:00:01Z"),
    });
    await put(
      "wootric/entity=dead_letter/dt=2026-02-01/wootric-1-2026-02-01-10-05-00-abc.gz",
      gzipSync(serializeEnvelope(webhookDead) + serializeEnvelope(hopeless)),
    );
    // A line Firehose refused (here: an InvalidArgumentException), kept whole under DEAD_LETTER_URL.
    const refusedRecord = makeEnvelope(
      "decline",
      { id: 77, updated_at: "2026-02-01 02:00:00 -0800" },
      { source: "poll", receivedAt: new Date("2026-02-01T11:00:00Z") },
    );
    const refused = makeDeadLetter({
      reason: "Firehose refused the record: InvalidArgumentException",
      raw: serializeEnvelope(refusedRecord),
      source: "poll",
      intendedEntity: "decline",
      contentType: "application/x-ndjson",
      receivedAt: new Date("2026-02-01T11:00:00Z"),
    });
    await put(`errors/oversize/dt=2026-02-01/${refused.data.raw_sha256}.json`, serializeEnvelope(refused));

    const dry = await cli(["--dry-run", "--since", "2026-02-01"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would recover .*response:501:1709662531/);
    assert.match(dry.stdout, /would recover .*decline:77:1769940000/);
    assert.match(dry.stdout, /still fails .*not valid JSON/);
    assert.deepEqual(await delivered(), [], "a dry run sends nothing");

    const run = await cli(["--since", "2026-02-01"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /3 dead letters in 2 objects: 2 recovered \(2 records\), 1 still failing/);
    const lines = await delivered();
    const got = lines.map((l) => JSON.parse(l) as Envelope);
    assert.deepEqual(got.map((e) => e.dedup_key).sort(), ["decline:77:1769940000", "response:501:1709662531"]);
    const resp = got.find((e) => e.entity === "response")!;
    assert.equal(resp.data.external_id, "98765");
    assert.equal(resp.received_at, "2026-02-01T10:00:00.000Z");
    assert.ok(resp.replayed_at);
    assert.equal(resp.format, "json");
    const dec = got.find((e) => e.entity === "decline")!;
    assert.equal(dec.received_at, refusedRecord.received_at);
    assert.equal(dec.version, refusedRecord.version);

    const again = await cli(["--since", "2026-02-01"]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /0 recovered \(0 records\), 1 still failing, 2 recovered by an earlier replay/);
    assert.equal((await delivered()).length, lines.length, "the second run sent nothing");
  });

  test("--redrive puts Firehose's error-prefix records back into the stream, bytes unchanged, once", async () => {
    const earlier = await delivered();
    const before = earlier.length;
    const a = serializeEnvelope(
      makeEnvelope("response", { id: 601, updated_at: "2026-02-02 00:00:00 +0000" }, { source: "poll" }),
    );
    const b = serializeEnvelope(
      makeEnvelope("response", { id: 602, updated_at: "2026-02-02 00:00:01 +0000" }, { source: "poll" }),
    );
    const packed = Buffer.from(a + b); // one Firehose record packing two lines
    const single = Buffer.from(serializeEnvelope(makeEnvelope("segment", { name: "plan" }, { source: "poll" })));
    const errorLine = (data: Buffer, code: string) =>
      JSON.stringify({
        attemptsMade: 1,
        arrivalTimestamp: Date.parse("2026-02-02T00:00:05Z"),
        errorCode: code,
        errorMessage: "the active partition count exceeded the limit",
        attemptEndingTimestamp: Date.parse("2026-02-02T00:01:05Z"),
        rawData: data.toString("base64"),
      });
    await put(
      "errors/firehose/DynamicPartitioning.ActivePartitionsLimitExceeded/dt=2026-02-02/wootric-1-2026-02-02-00-01-05-x.gz",
      gzipSync(
        `${errorLine(packed, "DynamicPartitioning.ActivePartitionsLimitExceeded")}\n${errorLine(single, "DynamicPartitioning.ActivePartitionsLimitExceeded")}\n`,
      ),
    );

    const dry = await cli(["--redrive", "--dry-run"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /would re-drive 2 records from s3:\/\/lake\/errors\/firehose\/.*ActivePartitionsLimitExceeded ×2/,
    );
    assert.equal((await delivered()).length, before);

    const run = await cli(["--redrive"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /2 failed records in 1 error objects: 2 re-driven/);
    const now = await delivered();
    const newLines = now.filter((l) => !earlier.includes(l));
    assert.equal(now.length, before + 3);
    assert.deepEqual(newLines.sort(), [a, b, single.toString()].sort(), "the exact bytes are back in the stream");

    const again = await cli(["--redrive"]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /0 re-driven, 2 re-driven before \(0 of them failed again\)/);
    assert.equal((await delivered()).length, now.length);
  });
});
