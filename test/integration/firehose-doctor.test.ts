import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { loadConfig } from "../../src/config/index.js";
import { checkFirehose } from "../../src/sink/firehose/doctor-check.js";
import { awsError } from "../helpers/firehose-harness.js";

const creds = { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } };

function description(opts: { status?: string; dynamicPartitioning?: boolean; deagg?: boolean }) {
  return {
    DeliveryStreamDescription: {
      DeliveryStreamName: "s",
      DeliveryStreamARN: "arn:aws:firehose:us-east-1:1:deliverystream/s",
      DeliveryStreamStatus: opts.status ?? "ACTIVE",
      DeliveryStreamType: "DirectPut",
      VersionId: "1",
      HasMoreDestinations: false,
      Destinations: [
        {
          DestinationId: "d1",
          ExtendedS3DestinationDescription: {
            BucketARN: "arn:aws:s3:::lake",
            RoleARN: "arn:aws:iam::1:role/r",
            BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 60 },
            CompressionFormat: "GZIP",
            EncryptionConfiguration: { NoEncryptionConfig: "NoEncryption" },
            DynamicPartitioningConfiguration: { Enabled: opts.dynamicPartitioning ?? true },
            ProcessingConfiguration: {
              Enabled: true,
              Processors:
                opts.deagg === false
                  ? []
                  : [
                      {
                        Type: "RecordDeAggregation",
                        Parameters: [{ ParameterName: "SubRecordType", ParameterValue: "JSON" }],
                      },
                    ],
            },
          },
        },
      ],
    },
  };
}

async function run(opts: { describe: unknown; put: unknown; head?: unknown; deadLetter?: boolean }) {
  const firehose = new FirehoseClient(creds);
  const s3 = new S3Client(creds);
  const fm = mockClient(firehose);
  const sm = mockClient(s3);
  const reply = (m: ReturnType<typeof fm.on>, v: unknown) =>
    v instanceof Error ? m.rejects(v) : m.resolves(v as never);
  reply(fm.on(DescribeDeliveryStreamCommand), opts.describe);
  reply(fm.on(PutRecordBatchCommand), opts.put);
  reply(sm.on(HeadBucketCommand) as never, opts.head ?? {});
  const config = loadConfig({
    FIREHOSE_STREAM_NAME: "s",
    WOOTRIC_WEBHOOK_SECRET: "x".repeat(16),
    ...(opts.deadLetter ? { DEAD_LETTER_URL: "s3://dead-letters/oversize" } : {}),
  });
  const results = await checkFirehose(config, { firehose, s3 });
  const putCalls = fm.commandCalls(PutRecordBatchCommand);
  fm.restore();
  sm.restore();
  return { results, byName: Object.fromEntries(results.map((r) => [r.name, r])), putCalls };
}

describe("doctor: Firehose checks", () => {
  test("an ACTIVE Direct PUT stream with JSON deaggregation passes; the write probe sends zero records", async () => {
    const { byName, putCalls } = await run({
      describe: description({}),
      put: awsError("InvalidArgumentException", 400, "Records must have length greater than or equal to 1"),
      deadLetter: true,
    });
    assert.equal(byName["firehose stream"]?.ok, true, byName["firehose stream"]?.detail);
    assert.equal(byName["firehose packing"]?.ok, true);
    assert.equal(byName["firehose write"]?.ok, true);
    assert.equal(byName["dead-letter bucket"]?.ok, true);
    assert.equal(putCalls.length, 1);
    assert.deepEqual(putCalls[0]!.args[0].input.Records, [], "the probe never writes data");
  });

  test("dynamic partitioning without RecordDeAggregation fails with an explanation", async () => {
    const { byName } = await run({ describe: description({ deagg: false }), put: {} });
    assert.equal(byName["firehose packing"]?.ok, false);
    assert.match(byName["firehose packing"]!.detail, /RecordDeAggregation/);
  });

  test("a missing stream, a CREATING stream, AccessDenied on put, an unreachable bucket all fail", async () => {
    const missing = await run({
      describe: awsError("ResourceNotFoundException", 400, "not found"),
      put: awsError("ResourceNotFoundException", 400),
    });
    assert.equal(missing.byName["firehose stream"]?.ok, false);
    assert.match(missing.byName["firehose stream"]!.detail, /check the name and the region/);
    assert.equal(missing.byName["firehose write"]?.ok, false);

    const creating = await run({ describe: description({ status: "CREATING" }), put: {} });
    assert.equal(creating.byName["firehose stream"]?.ok, false);
    assert.match(creating.byName["firehose stream"]!.detail, /CREATING/);

    const denied = await run({
      describe: description({}),
      put: awsError("AccessDeniedException", 400, "not authorized to perform firehose:PutRecordBatch"),
    });
    assert.equal(denied.byName["firehose write"]?.ok, false);
    assert.match(denied.byName["firehose write"]!.detail, /AccessDeniedException/);

    const noBucket = await run({
      describe: description({}),
      put: {},
      head: awsError("NotFound", 404),
      deadLetter: true,
    });
    assert.equal(noBucket.byName["dead-letter bucket"]?.ok, false);
  });

  test("without DEAD_LETTER_URL the bucket check is skipped with the consequence spelled out", async () => {
    const { byName } = await run({ describe: description({ dynamicPartitioning: false }), put: {} });
    assert.equal(byName["dead-letter bucket"]?.skipped, true);
    assert.match(byName["dead-letter bucket"]!.detail, /held in the spool/);
    assert.equal(byName["firehose packing"]?.ok, true);
  });
});
