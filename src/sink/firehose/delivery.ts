import { fullJitterDelay, jittered } from "../../common/backoff.js";
import { sleepUnlessAborted, whenAborted } from "../../common/clock.js";
import type { Logger } from "../../log.js";
import type { Spool, SpooledLine } from "../spool/spool.js";
import type { ShipperTuning } from "./config.js";
import { deadLetterLineFor, isDeadLetterLine, type OversizeToS3 } from "./dead-letter.js";
import type { Pacer } from "./pacer.js";
import { billedUnits, type PackedRecord, splitRecord } from "./packer.js";
import type { RateController } from "./rate-controller.js";
import { type FirehoseService, isThrottlingCode, type PutOutcome } from "./service.js";
import type { ProducerMetrics } from "./sink-metrics.js";
import type { StreamHealth } from "./stream-health.js";

export type Line = SpooledLine & { payload: Buffer };
export type Rec = PackedRecord<Line>;

export interface DeliveryDeps {
  spool: Spool;
  service: FirehoseService;
  pacer: Pacer;
  rate: RateController;
  health: StreamHealth;
  oversize: OversizeToS3;
  tuning: ShipperTuning;
  logger: Logger;
  metrics: ProducerMetrics;
  /** Aborted on shutdown: whatever is not acknowledged stays in the spool. */
  abandon: AbortSignal;
  random: () => number;
}

/**
 * Delivers one batch until every line is acknowledged: paced by the adaptive rate, which every reply feeds (accepted
 * bytes, throttled entries, throttled calls, latency); only failed entries are resent; retryable errors back off;
 * a blocked stream is retried slowly; an invalid request is bisected until the poison line is alone, which then
 * travels on as a dead letter.
 */
export class Delivery {
  private lastLoggedRetry = 0;

  constructor(private readonly d: DeliveryDeps) {}

  async deliver(records: Rec[]): Promise<void> {
    const { metrics, tuning } = this.d;
    const abandon = this.d.abandon;
    let pending = records;
    let attempt = 0;
    while (pending.length > 0) {
      if (abandon.aborted) return;
      const bytes = pending.reduce((n, r) => n + r.bytes, 0);
      const waitedBefore = this.d.pacer.waitedMs;
      if (!(await this.d.pacer.acquire(pending.length, bytes, abandon))) return;
      if (this.d.pacer.waitedMs > waitedBefore)
        metrics.pacingWaitSeconds.inc((this.d.pacer.waitedMs - waitedBefore) / 1000);
      metrics.batchRecords.observe(pending.length);
      metrics.batchBytes.observe(bytes);
      this.d.rate.onSend(bytes);
      const started = performance.now();
      const abandoned = whenAborted(abandon);
      const outcome = await Promise.race([
        this.d.service.put(pending),
        abandoned.promise.then(() => undefined),
      ]).finally(abandoned.detach);
      if (outcome === undefined) return; // shutting down: the records stay unacknowledged in the spool
      const latencyMs = performance.now() - started;
      metrics.requestSeconds.observe({ outcome: outcome.kind }, latencyMs / 1000);

      if (outcome.kind === "replied") {
        this.d.health.unblock();
        const failed: Rec[] = [];
        let throttled = 0;
        let throttledBytes = 0;
        let acceptedBytes = 0;
        outcome.entries.forEach((entry, i) => {
          const rec = pending[i]!;
          if (entry.ok) {
            this.accepted(rec);
            acceptedBytes += rec.bytes;
          } else {
            failed.push(rec);
            metrics.entryFailures.inc({ code: entry.errorCode });
            if (isThrottlingCode(entry.errorCode)) {
              throttled++;
              throttledBytes += rec.bytes;
            }
          }
        });
        const result = {
          sentAt: started,
          latencyMs,
          acceptedBytes,
          acceptedRecords: pending.length - failed.length,
          sentBytes: bytes,
        };
        if (throttled > 0) {
          metrics.throttledEntries.inc(throttled);
          this.d.rate.onThrottle({ ...result, throttledBytes });
        } else this.d.rate.onSuccess(result);
        if (failed.length === 0) return;
        // Progress (some entries accepted) restarts the backoff; a reply where everything failed grows it.
        attempt = failed.length < pending.length ? 1 : attempt + 1;
        metrics.retries.inc({ kind: "entries" }, failed.length);
        this.logRetry(`${failed.length} of ${pending.length} Firehose records failed; resending only those`, {
          code: (outcome.entries.find((e) => !e.ok) as { errorCode: string } | undefined)?.errorCode,
          attempt,
        });
        pending = failed;
        await sleepUnlessAborted(
          fullJitterDelay(attempt, tuning.backoffBaseMs, tuning.backoffCapMs, this.d.random),
          abandon,
        );
        continue;
      }

      metrics.requestErrors.inc({ code: outcome.code });
      if (outcome.kind === "retryable" && isThrottlingCode(outcome.code)) {
        metrics.throttledCalls.inc();
        this.d.rate.onThrottle({ sentAt: started });
      }
      if (outcome.kind === "retryable") {
        attempt++;
        metrics.retries.inc({ kind: "request" });
        this.logRetry("PutRecordBatch failed; retrying with backoff", {
          code: outcome.code,
          message: outcome.message,
          attempt,
        });
        await sleepUnlessAborted(
          fullJitterDelay(attempt, tuning.backoffBaseMs, tuning.backoffCapMs, this.d.random),
          abandon,
        );
        continue;
      }
      if (outcome.kind === "blocked") {
        this.d.health.block(outcome);
        await sleepUnlessAborted(jittered(tuning.blockedRetryMs, this.d.random), abandon);
        continue;
      }
      // invalid: bisect records, then lines within a record, until the poison line is alone.
      this.d.health.unblock();
      if (pending.length > 1) {
        const mid = Math.ceil(pending.length / 2);
        await this.deliver(pending.slice(0, mid));
        await this.deliver(pending.slice(mid));
        return;
      }
      const only = pending[0]!;
      if (only.lines.length > 1) {
        const [a, b] = splitRecord(only);
        await this.deliver([a]);
        await this.deliver([b]);
        return;
      }
      await this.poison(only.lines[0]!, outcome);
      return;
    }
  }

  private accepted(rec: Rec): void {
    const { metrics } = this.d;
    this.d.spool.ack(rec.lines);
    metrics.recordsSent.inc();
    metrics.linesSent.inc(rec.lines.length);
    metrics.bytesSent.inc(rec.bytes);
    metrics.billedUnits.inc(billedUnits(rec.bytes));
  }

  /** A single line Firehose refuses: append a dead_letter envelope for it to the spool, then acknowledge the original. */
  private async poison(line: Line, outcome: Extract<PutOutcome, { kind: "invalid" }>): Promise<void> {
    const reason = `Firehose rejected the record: ${outcome.code}: ${outcome.message}`;
    if (isDeadLetterLine(line.payload)) {
      // A dead letter Firehose refuses too goes to S3 as is, rather than being wrapped again and again.
      this.d.oversize.add(line, reason);
      return;
    }
    const replacement = deadLetterLineFor(line.payload, reason);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.spool.append([replacement], { force: true });
        break;
      } catch (err) {
        if (this.d.abandon.aborted) return; // still unacknowledged: it is retried on the next start
        this.d.logger.warn("could not spool a dead letter; retrying", { error: (err as Error).message });
        await sleepUnlessAborted(
          fullJitterDelay(attempt, this.d.tuning.backoffBaseMs, this.d.tuning.backoffCapMs, this.d.random),
          this.d.abandon,
        );
      }
    }
    this.d.spool.ack([line]);
    this.d.metrics.deadLetters.inc({ path: "firehose" });
    this.d.logger.warn("Firehose refused a record; it travels on as a dead_letter envelope", {
      reason,
      bytes: line.payloadBytes,
    });
  }

  private logRetry(message: string, meta: Record<string, unknown>): void {
    // Retries are routine under throttling; one line per few seconds is enough (the metrics count every one).
    if (Date.now() - this.lastLoggedRetry < 5000) return;
    this.lastLoggedRetry = Date.now();
    this.d.logger.warn(message, meta);
  }
}
