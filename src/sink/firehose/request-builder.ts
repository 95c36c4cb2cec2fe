import type { PutRecordBatchCommandInput } from "@aws-sdk/client-firehose";
import { type PackedRecord, recordData } from "./packer.js";

/** The PutRecordBatch input for packed records; raw bytes go in `Data` (the SDK base64-encodes once). */
export function buildPutRecordBatchInput(
  streamName: string,
  records: readonly PackedRecord[],
): PutRecordBatchCommandInput {
  return {
    DeliveryStreamName: streamName,
    Records: records.map((r) => ({ Data: recordData(r) })),
  };
}
