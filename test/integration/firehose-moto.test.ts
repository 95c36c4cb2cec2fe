import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CreateDeliveryStreamCommand, FirehoseClient } from "@aws-sdk/client-firehose";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { openFirehoseSink } from "../../src/sink/firehose/firehose-sink.js";
import { CLI_PATH, childEnv, startServe } from "../helpers/cli.js";
import { envelope, envelopeOfSize, lineOf } from "../helpers/firehose-harness.js";
import { type Moto, motoMissingReason, startMoto } from "../helpers/moto.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const skip = motoMissingReason();
const BUCKET = "lake-bucket";
const DL_BUCKET = "dead-letters";

let moto: Moto;
let s3: S3Client;
let firehose: FirehoseClient;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-moto-"));
  dirs.push(d);
  return d;
}

async function createStream(name: string, prefix: string): Promise<void> {
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      DeliveryStreamType: "DirectPut",
      ExtendedS3DestinationConfiguration: {
        RoleARN: "arn:aws:iam::123456789012:role/firehose-delivery",
        BucketARN: `arn:aws:s3:::${BUCKET}`,
        Prefix: prefix,
        ErrorOutputPrefix: "errors/",
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 60 },
        CompressionFormat: "UNCOMPRESSED",
      },
    }),
  );
}

/** Every object under `prefix`, concatenated per object (moto writes one object per PutRecordBatch). */
async function readObjects(bucket: string, prefix: string): Promise<string[]> {
  const bodies: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      bodies.push(await obj.Body!.transformToString("utf8"));
    }
    token = page.NextContinuationToken;
  } while (token);
  return bodies;
}

const linesOf = (bodies: string[]) => bodies.flatMap((b) => b.split(/(?<=\n)/).filter((l) => l.length > 0));

describe("Firehose sink against moto (Firehose → S3)", () => {
  before(async () => {
    if (skip) return;
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
    await s3.send(new CreateBucketCommand({ Bucket: DL_BUCKET }));
  });
  after(async () => {
    if (skip) return;
    s3?.destroy();
    firehose?.destroy();
    await moto?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test("records written through the Sink API arrive in S3 intact, as newline-terminated lines", { skip }, async () => {
    await createStream("sink-api-stream", "sinkapi/");
    const dir = await tempDir();
    const sink = await openFirehoseSink({
      settings: {
        kind: "firehose",
        streamName: "sink-api-stream",
        spoolDir: dir,
        spoolMaxBytes: 256 * 1024 * 1024,
        deadLetter: { bucket: DL_BUCKET, prefix: "dl" },
        lingerMs: 20,
        maxRecordsPerSecond: 100_000,
        maxBytesPerSecond: 64 * 1024 * 1024,
        maxRequestsPerSecond: 1000,
        maxInFlight: 4,
      },
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      firehose,
      s3,
    });
    const envs = [
      ...Array.from({ length: 1500 }, (_, i) => envelope(i, (i * 37) % 3000)),
      envelope(5000, 0, "decline"),
      { ...envelope(5001), data: { id: 5001, text: 'unicode ✓ é 日本 "quotes" \\ back\nslash' } },
      envelopeOfSize(5002, 1_024_000), // exactly one full Firehose record
    ];
    const oversize = envelopeOfSize(6000, 1_200_000);
    for (let i = 0; i < envs.length; i += 100) await sink.write(envs.slice(i, i + 100));
    await sink.write([oversize]);
    await sink.close(20_000);

    const bodies = await readObjects(BUCKET, "sinkapi/");
    assert.ok(bodies.length >= 1);
    for (const b of bodies) assert.ok(b.endsWith("\n"), "each object ends with a newline");
    const got = linesOf(bodies);
    const want = envs.map(lineOf);
    assert.deepEqual([...got].sort(), [...want].sort(), "every line arrived exactly, byte for byte");
    // Packed, not one call per line: the adaptive rate sizes calls to ~0.1 s of its current rate (it starts at
    // 1 MiB/s and grows), so the exact number of calls depends on how fast it ramps; dozens of lines per call is the
    // property, not a count tuned to one machine's timing.
    assert.ok(
      bodies.length < want.length / 20,
      `lines were packed into few calls (${bodies.length} objects for ${want.length} lines)`,
    );

    const dl = await readObjects(DL_BUCKET, "dl/dt=");
    assert.equal(dl.length, 1);
    const dead = JSON.parse(dl[0]!) as { entity: string; data: { raw: string } };
    assert.equal(dead.entity, "dead_letter");
    assert.equal(dead.data.raw, lineOf(oversize));
  });

  test("the real CLI (serve) delivers every acknowledged webhook to S3; doctor sees the stream", { skip }, async () => {
    await createStream("cli-stream", "cli/");
    const dir = await tempDir();
    const env = {
      ...moto.env,
      FIREHOSE_STREAM_NAME: "cli-stream",
      SPOOL_DIR: join(dir, "spool"),
      DATA_DIR: dir,
      WOOTRIC_WEBHOOK_SECRET: "moto-secret-0123456789",
      DEAD_LETTER_URL: `s3://${DL_BUCKET}/cli`,
      FIREHOSE_LINGER_MS: "50",
      LOG_LEVEL: "warn",
    };
    const doctor = spawnSync(process.execPath, [CLI_PATH, "doctor"], {
      env: { ...childEnv(), HOME: process.env.HOME ?? "", ...env },
      encoding: "utf8",
      timeout: 30_000,
    });
    const doctorOut = `${doctor.stdout}${doctor.stderr}`;
    assert.match(doctorOut, /ok.*firehose stream.*"cli-stream" is ACTIVE/i);
    assert.match(doctorOut, /ok.*dead-letter bucket/i);

    const cli = await startServe(env);
    const acked = new Set<number>();
    await Promise.all(
      Array.from({ length: 5 }, async (_, w) => {
        for (let id = w * 1000 + 1; id <= w * 1000 + 60; id++) {
          const res = await postWebhook(cli.baseUrl, responseWebhook(id), { secret: "moto-secret-0123456789" });
          assert.equal(res.status, 200, res.body);
          acked.add(id);
        }
      }),
    );
    assert.equal(await cli.stop("SIGTERM"), 0);

    const lines = linesOf(await readObjects(BUCKET, "cli/"));
    const byId = new Map<number, Record<string, unknown>>();
    for (const l of lines) {
      const e = JSON.parse(l) as Record<string, unknown>;
      byId.set(e.id as number, e);
    }
    const missing = [...acked].filter((id) => !byId.has(id));
    assert.deepEqual(missing, [], "acknowledged but not in S3");
    const sample = byId.get(1)!;
    assert.equal(sample.entity, "response");
    assert.equal(sample.source, "webhook");
    assert.equal(sample.event_name, "created");
    assert.equal((sample.data as { text: string }).text, "comment 1");
    assert.equal(sample.dedup_key, "response:1:1709662531");
  });
});
