// PLACEHOLDER: replaced by the Firehose implementation (issue 3).
import type { Config } from "../../config.js";
import type { CheckResult } from "../../ops/check.js";

/** Checks that the delivery stream exists, is ACTIVE and writable, and that the dead-letter bucket is reachable. */
export async function checkFirehose(config: Config): Promise<CheckResult[]> {
  if (config.sink.kind !== "firehose") return [{ name: "firehose", ok: true, skipped: true, detail: "FIREHOSE_STREAM_NAME not set: records go to the file sink" }];
  return [{ name: "firehose", ok: false, detail: "check not implemented yet" }];
}
