import type { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../../ops/metrics.js";
import type { Spool } from "../spool/spool.js";
import type { RateController } from "./rate-controller.js";

/** Every metric of the spool and the Firehose producer (prefixed wootric_firehose_ by Metrics). */
export interface ProducerMetrics {
  recordsSent: Counter;
  linesSent: Counter;
  bytesSent: Counter;
  billedUnits: Counter;
  entryFailures: Counter<"code">;
  requestErrors: Counter<"code">;
  retries: Counter<"kind">;
  deadLetters: Counter<"path">;
  batchRecords: Histogram;
  batchBytes: Histogram;
  requestSeconds: Histogram<"outcome">;
  blocked: Gauge;
  inFlight: Gauge;
  pacingWaitSeconds: Counter;
  throttledEntries: Counter;
  throttledCalls: Counter;
}

export function registerProducerMetrics(metrics: Metrics, spool: Spool): ProducerMetrics {
  let cached: { at: number; stats: ReturnType<Spool["stats"]> } | undefined;
  const stats = () => {
    // one disk peek per scrape, shared by the four spool gauges
    if (!cached || Date.now() - cached.at > 200) cached = { at: Date.now(), stats: spool.stats() };
    return cached.stats;
  };
  metrics.gauge(
    "spool_records",
    "Records in the spool not yet accepted by Firehose (or written as dead letters)",
    [],
    function () {
      this.set(stats().records);
    },
  );
  metrics.gauge("spool_bytes", "Framed bytes of the records counted by spool_records", [], function () {
    this.set(stats().bytes);
  });
  metrics.gauge(
    "spool_disk_bytes",
    "Bytes of spool segment files on disk (bounded by SPOOL_MAX_BYTES)",
    [],
    function () {
      this.set(stats().diskBytes);
    },
  );
  metrics.gauge(
    "spool_oldest_age_seconds",
    "Age of the oldest record not yet accepted by Firehose (0 when empty)",
    [],
    function () {
      const oldest = stats().oldestAppendedAtMs;
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  );
  metrics.gauge(
    "spool_corrupt_files",
    "Files of corrupt spool bytes set aside and not yet acknowledged by an operator (move or rename them)",
    [],
    function () {
      this.set(spool.corruption().files.length);
    },
  );
  return {
    recordsSent: metrics.counter(
      "producer_records_sent_total",
      "Firehose records accepted (each a pack of up to 500 lines)",
    ),
    linesSent: metrics.counter("producer_lines_sent_total", "Envelope lines accepted by Firehose"),
    bytesSent: metrics.counter("producer_bytes_sent_total", "Bytes accepted by Firehose"),
    billedUnits: metrics.counter(
      "producer_billed_units_total",
      "Firehose ingestion billing units: each accepted record rounded up to 5 KB (5,120 B)",
    ),
    entryFailures: metrics.counter(
      "producer_entry_failures_total",
      "PutRecordBatch entries that came back with an ErrorCode",
      ["code"],
    ),
    requestErrors: metrics.counter("producer_request_errors_total", "PutRecordBatch calls that failed as a whole", [
      "code",
    ]),
    retries: metrics.counter(
      "producer_retries_total",
      "Resends: kind=request (a whole call retried) or kind=entries (failed entries resent)",
      ["kind"],
    ),
    deadLetters: metrics.counter(
      "producer_dead_letters_total",
      "Records Firehose refused: path=firehose (sent as dead_letter envelopes) or path=s3 (too large, written to DEAD_LETTER_URL)",
      ["path"],
    ),
    batchRecords: metrics.histogram(
      "producer_batch_records",
      "Firehose records per PutRecordBatch call",
      [1, 2, 4, 8, 16, 50, 100, 250, 500],
    ),
    batchBytes: metrics.histogram(
      "producer_batch_bytes",
      "Bytes per PutRecordBatch call",
      [1024, 10_240, 102_400, 512_000, 1_024_000, 2_048_000, 4_096_000],
    ),
    requestSeconds: metrics.histogram(
      "producer_request_seconds",
      "PutRecordBatch latency",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ["outcome"],
    ),
    blocked: metrics.gauge(
      "producer_blocked",
      "1 while the stream is unusable (missing, access denied, KMS); the spool keeps the data",
    ),
    inFlight: metrics.gauge("producer_in_flight_requests", "PutRecordBatch calls in flight"),
    pacingWaitSeconds: metrics.counter(
      "producer_pacing_wait_seconds_total",
      "Time spent waiting for the client-side rate limits",
    ),
    throttledEntries: metrics.counter(
      "producer_throttled_entries_total",
      'PutRecordBatch entries Firehose refused for the stream\'s quota (ServiceUnavailableException "Slow down.")',
    ),
    throttledCalls: metrics.counter(
      "producer_throttled_calls_total",
      "PutRecordBatch calls refused whole for throttling (ThrottlingException, LimitExceededException, ServiceUnavailableException)",
    ),
  };
}

/** Seconds to send what the spool holds at the current rate (0 when empty); the /readyz detail carries it too. */
export function drainSeconds(spoolBytes: number, rate: RateController): number {
  if (spoolBytes <= 0) return 0;
  const s = rate.snapshot();
  // what Firehose accepted lately; before anything was (a start, an outage) the rate we are allowed to try
  const perSecond = s.acceptedBytesPerSecond > 0 ? s.acceptedBytesPerSecond : s.allowedBytesPerSecond;
  return spoolBytes / perSecond;
}

/** Gauges of the adaptive send rate, read when scraped. */
export function registerRateMetrics(metrics: Metrics, rate: RateController, spoolBytes: () => number): void {
  metrics.gauge(
    "producer_rate_limit_bytes_per_second",
    "The send rate the adaptive controller allows now (follows the stream's throttling; capped by FIREHOSE_MAX_BYTES_PER_SECOND if set)",
    [],
    function () {
      this.set(rate.rate);
    },
  );
  metrics.gauge(
    "producer_send_bytes_per_second",
    "Bytes per second Firehose accepted over the last 10 seconds",
    [],
    function () {
      this.set(rate.snapshot().acceptedBytesPerSecond);
    },
  );
  metrics.gauge(
    "producer_send_records_per_second",
    "Firehose records per second accepted over the last 10 seconds (each a pack of up to 500 lines)",
    [],
    function () {
      this.set(rate.snapshot().acceptedRecordsPerSecond);
    },
  );
  metrics.gauge(
    "producer_drain_seconds",
    "Estimated seconds to send the spool's backlog at the current rate (spool_bytes / send rate); 0 when empty",
    [],
    function () {
      this.set(drainSeconds(spoolBytes(), rate));
    },
  );
}
