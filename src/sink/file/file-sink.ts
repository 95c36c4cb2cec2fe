// PLACEHOLDER: replaced by the file sink implementation (issue 2).
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import type { Sink } from "../sink.js";

export type FileSinkSettings = Extract<Config["sink"], { kind: "file" }>;

export async function openFileSink(_deps: { settings: FileSinkSettings; logger: Logger; metrics: Metrics }): Promise<Sink> {
  throw new Error("file sink not implemented yet");
}
