import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import { openFileSink } from "./file/open.js";
import { openFirehoseSink } from "./firehose/firehose-sink.js";
import type { Sink } from "./sink.js";

export interface SinkDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

/** The Firehose sink (behind its spool) when FIREHOSE_STREAM_NAME is set, else the embedded file sink. */
export async function createSink(deps: SinkDeps): Promise<Sink> {
  const sink = deps.config.sink;
  if (sink.kind === "firehose") return openFirehoseSink({ ...deps, settings: sink });
  return openFileSink({ ...deps, settings: sink });
}
