// PLACEHOLDER: replaced by the spool + Firehose producer implementation (issue 3).
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import type { Sink } from "../sink.js";

export type FirehoseSinkSettings = Extract<Config["sink"], { kind: "firehose" }>;

export async function openFirehoseSink(_deps: { settings: FirehoseSinkSettings; logger: Logger; metrics: Metrics }): Promise<Sink> {
  throw new Error("firehose sink not implemented yet");
}
