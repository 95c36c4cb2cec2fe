import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { DEFAULT_TUNING } from "../../src/sink/firehose/config.js";
import type { FirehoseService } from "../../src/sink/firehose/service.js";
import { Shipper } from "../../src/sink/firehose/shipper.js";
import { registerProducerMetrics } from "../../src/sink/firehose/sink-metrics.js";
import type { Spool } from "../../src/sink/spool/spool.js";

/** One line per Firehose record, no pacing, one call in flight: only batching and the spool's behaviour matter. */
export function makeShipper(
  spool: Spool,
  service: FirehoseService,
  opts: { maxRecordsPerBatch: number; lingerMs: number },
): Shipper {
  return new Shipper({
    spool,
    service,
    deadLetters: undefined,
    limits: {
      maxRecordBytes: 1_024_000,
      maxLinesPerRecord: 1,
      maxRecordsPerBatch: opts.maxRecordsPerBatch,
      maxBatchBytes: 4_096_000,
    },
    tuning: DEFAULT_TUNING,
    pacing: {},
    maxInFlight: 1,
    lingerMs: opts.lingerMs,
    logger: silentLogger(),
    metrics: registerProducerMetrics(new Metrics({ defaults: false }), spool),
  });
}
