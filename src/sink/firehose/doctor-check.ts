import {
  type DeliveryStreamDescription,
  DescribeDeliveryStreamCommand,
  type FirehoseClient,
  PutRecordBatchCommand,
} from "@aws-sdk/client-firehose";
import { HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { makeFirehoseClient, makeS3Client } from "../../aws/clients.js";
import type { Config } from "../../config/index.js";
import type { CheckResult } from "../../ops/check.js";
import { classifyError } from "./service.js";

const TIMEOUT_MS = 10_000;

function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e?.name ?? "Error"}: ${e?.message ?? String(err)}`;
}

/** Is the packing (up to 500 newline-terminated lines per record) compatible with the stream's processing? */
function packingCheck(desc: DeliveryStreamDescription): CheckResult {
  const s3 = desc.Destinations?.[0]?.ExtendedS3DestinationDescription;
  if (!s3)
    return {
      name: "firehose packing",
      ok: true,
      skipped: true,
      detail: "destination is not extended S3: packing not checked",
    };
  if (!s3.DynamicPartitioningConfiguration?.Enabled) {
    return {
      name: "firehose packing",
      ok: true,
      detail: "no dynamic partitioning: packed records land in S3 as plain JSON lines",
    };
  }
  const processors = s3.ProcessingConfiguration?.Enabled ? (s3.ProcessingConfiguration.Processors ?? []) : [];
  const deagg = processors.find((p) => p.Type === "RecordDeAggregation");
  const subType = deagg?.Parameters?.find((p) => p.ParameterName === "SubRecordType")?.ParameterValue;
  if (!deagg || (subType !== undefined && subType !== "JSON")) {
    return {
      name: "firehose packing",
      ok: false,
      detail:
        "dynamic partitioning is on but there is no RecordDeAggregation processor with SubRecordType=JSON: each Firehose record carries up to 500 JSON lines and would be partitioned by its first line only. Add the processor (the terraform module does).",
    };
  }
  return { name: "firehose packing", ok: true, detail: "dynamic partitioning with JSON multi-record deaggregation" };
}

/**
 * Checks that the delivery stream exists, is ACTIVE and accepts Direct PUT, that the records' packing suits its
 * processing, that the credentials may write to it, and that the dead-letter bucket is reachable.
 *
 * Writability is probed with a PutRecordBatch of zero records: it cannot write data (no probe records end up in the
 * lake), an AccessDenied/KMS/credential error fails the check, and the expected validation error shows the request was
 * authenticated and reached the stream. It cannot prove the IAM permission itself where AWS validates input before
 * authorising it, which the detail says.
 */
export async function checkFirehose(
  config: Config,
  clients: { firehose?: FirehoseClient; s3?: S3Client } = {},
): Promise<CheckResult[]> {
  if (config.sink.kind !== "firehose") {
    return [
      {
        name: "firehose",
        ok: true,
        skipped: true,
        detail: "FIREHOSE_STREAM_NAME not set: records go to the file sink",
      },
    ];
  }
  const { streamName, deadLetter } = config.sink;
  const firehose = clients.firehose ?? makeFirehoseClient({ maxAttempts: 2 });
  const results: CheckResult[] = [];
  try {
    let desc: DeliveryStreamDescription | undefined;
    try {
      const out = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: streamName }), {
        abortSignal: AbortSignal.timeout(TIMEOUT_MS),
      });
      desc = out.DeliveryStreamDescription;
    } catch (err) {
      const name = (err as { name?: string }).name;
      const hint =
        name === "ResourceNotFoundException"
          ? ` (no stream named "${streamName}" in region ${process.env.AWS_REGION ?? "(AWS_REGION unset)"}: check the name and the region)`
          : "";
      results.push({
        name: "firehose stream",
        ok: false,
        detail: `DescribeDeliveryStream failed: ${describeError(err)}${hint}`,
      });
    }
    if (desc) {
      const status = desc.DeliveryStreamStatus ?? "UNKNOWN";
      const type = desc.DeliveryStreamType ?? "DirectPut";
      if (status !== "ACTIVE") {
        results.push({ name: "firehose stream", ok: false, detail: `stream "${streamName}" is ${status}, not ACTIVE` });
      } else if (type !== "DirectPut") {
        results.push({
          name: "firehose stream",
          ok: false,
          detail: `stream "${streamName}" reads from ${type}; PutRecordBatch needs a Direct PUT stream`,
        });
      } else {
        const dest = desc.Destinations?.[0]?.ExtendedS3DestinationDescription;
        const where = dest ? ` → ${dest.BucketARN ?? "?"} (${dest.CompressionFormat ?? "UNCOMPRESSED"})` : "";
        results.push({ name: "firehose stream", ok: true, detail: `"${streamName}" is ACTIVE, Direct PUT${where}` });
      }
      results.push(packingCheck(desc));
    }

    try {
      await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: streamName, Records: [] }), {
        abortSignal: AbortSignal.timeout(TIMEOUT_MS),
      });
      results.push({
        name: "firehose write",
        ok: true,
        detail: "PutRecordBatch accepted an empty batch (no data written)",
      });
    } catch (err) {
      const c = classifyError(err);
      if (c.kind === "invalid" || c.code === "ValidationException") {
        results.push({
          name: "firehose write",
          ok: true,
          detail:
            "credentials accepted; an empty PutRecordBatch was refused as invalid, as expected (no data written; make sure the IAM policy allows firehose:PutRecordBatch)",
        });
      } else if (c.kind === "blocked") {
        results.push({ name: "firehose write", ok: false, detail: `PutRecordBatch refused: ${c.code}: ${c.message}` });
      } else {
        results.push({
          name: "firehose write",
          ok: false,
          detail: `PutRecordBatch probe failed: ${c.code}: ${c.message}`,
        });
      }
    }
  } finally {
    if (!clients.firehose) firehose.destroy();
  }

  if (!deadLetter) {
    results.push({
      name: "dead-letter bucket",
      ok: true,
      skipped: true,
      detail:
        "DEAD_LETTER_URL not set: a record over 1,024,000 bytes would be held in the spool (and /readyz fail) until it is set",
    });
  } else {
    const s3 = clients.s3 ?? makeS3Client();
    try {
      await s3.send(new HeadBucketCommand({ Bucket: deadLetter.bucket }), {
        abortSignal: AbortSignal.timeout(TIMEOUT_MS),
      });
      results.push({ name: "dead-letter bucket", ok: true, detail: `s3://${deadLetter.bucket} is reachable` });
    } catch (err) {
      results.push({
        name: "dead-letter bucket",
        ok: false,
        detail: `HeadBucket s3://${deadLetter.bucket} failed: ${describeError(err)}`,
      });
    } finally {
      if (!clients.s3) s3.destroy();
    }
  }
  return results;
}
