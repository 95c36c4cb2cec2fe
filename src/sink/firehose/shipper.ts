import { setMaxListeners } from "node:events";
import type { Logger } from "../../log.js";
import type { Readiness } from "../sink.js";
import type { Spool, SpooledLine } from "../spool/spool.js";
import { fullJitterDelay, jittered, sleep, whenAborted } from "./backoff.js";
import type { PackLimits, ShipperTuning } from "./config.js";
import { deadLetterLineFor, isDeadLetterLine, OversizeToS3, type S3DeadLetterWriter } from "./dead-letter.js";
import { type PaceLimits, Pacer, Slots } from "./pacer.js";
import { BatchBuilder, billedUnits, type PackedRecord, splitRecord } from "./packer.js";
import { RateController, type RateControllerOptions } from "./rate-controller.js";
import { type FirehoseService, isThrottlingCode, type PutOutcome } from "./service.js";
import type { ProducerMetrics } from "./sink-metrics.js";
import { StreamHealth } from "./stream-health.js";

type Line = SpooledLine & { payload: Buffer };
type Rec = PackedRecord<Line>;

export interface ShipperDeps {
  spool: Spool;
  service: FirehoseService;
  deadLetters: S3DeadLetterWriter | undefined;
  limits: PackLimits;
  tuning: ShipperTuning;
  pacing: PaceLimits;
  maxInFlight: number;
  lingerMs: number;
  logger: Logger;
  metrics: ProducerMetrics;
  random?: () => number;
  /** Overrides of the adaptive rate controller (tests); the ceiling comes from `pacing.bytesPerSecond`. */
  rateControl?: RateControllerOptions;
}

/**
 * Drains the spool to Firehose: reads records from disk in bounded windows, packs them, sends with bounded concurrency
 * under the pacing limits, acknowledges each record in the spool only once Firehose returned a RecordId for it (or it
 * became a dead letter), resends only failed entries, and never gives up on a record.
 */
export class Shipper {
  private readonly stopReading = new AbortController();
  private readonly abandon = new AbortController();
  private readonly slots: Slots;
  private readonly pacer: Pacer;
  readonly rate: RateController;
  private readonly tasks = new Set<Promise<void>>();
  private readonly oversize: OversizeToS3;
  private readonly health: StreamHealth;
  private flushing = false;
  /** Lines read from the spool into the batch being assembled (not yet a delivery task). */
  private building = 0;
  private loop: Promise<void> | undefined;
  private lastLoggedRetry = 0;
  private readonly random: () => number;
  /** Aborted when stop() starts flushing, so a batch waiting out its linger is sent at once. */
  private readonly flushRequest = new AbortController();

  constructor(private readonly d: ShipperDeps) {
    // every in-flight task, the pacer and the dead-letter worker wait on these signals at the same time
    setMaxListeners(1000, this.stopReading.signal, this.abandon.signal);
    this.slots = new Slots(d.maxInFlight);
    this.rate = new RateController({ ...d.rateControl, maxRate: d.pacing.bytesPerSecond });
    this.pacer = new Pacer(d.pacing, this.rate);
    this.random = d.random ?? Math.random;
    this.health = new StreamHealth(d.service.streamName, d.spool, d.logger, d.metrics);
    this.oversize = new OversizeToS3({
      spool: d.spool,
      writer: d.deadLetters,
      logger: d.logger,
      metrics: d.metrics,
      retryCapMs: d.tuning.deadLetterRetryCapMs,
      abandon: this.abandon.signal,
      random: this.random,
    });
  }

  start(): void {
    this.loop ??= this.produce().catch((err) => {
      this.d.logger.error("firehose shipper stopped unexpectedly; records stay in the spool", {
        error: (err as Error).message,
      });
    });
  }

  readiness(): Readiness {
    const reason = this.health.reason() ?? this.oversize.readinessReason();
    return reason ? { ready: false, reason } : { ready: true };
  }

  /**
   * Sends what is in the spool (no linger) until it is empty or the deadline passes, then abandons in-flight work.
   * Whatever was not acknowledged stays in the spool for the next start.
   */
  async stop(deadlineMs: number): Promise<{ drained: boolean }> {
    this.flushing = true;
    this.flushRequest.abort();
    const deadline = Date.now() + Math.max(0, deadlineMs);
    let drained = false;
    while (Date.now() < deadline) {
      if (
        !this.d.spool.hasUnread() &&
        this.tasks.size === 0 &&
        this.building === 0 &&
        this.oversize.idle &&
        !this.health.blocked
      ) {
        drained = true;
        break;
      }
      if (this.health.blocked) break; // a blocked stream will not recover within a shutdown deadline
      await sleep(Math.min(20, deadline - Date.now()));
    }
    this.stopReading.abort();
    this.abandon.abort();
    await Promise.allSettled([...this.tasks]);
    await this.oversize.stopped();
    await this.loop;
    return { drained };
  }

  // ------------------------------------------------------------------ batching loop

  private async produce(): Promise<void> {
    const signal = this.stopReading.signal;
    while (!signal.aborted) {
      await this.slots.acquire();
      if (signal.aborted) {
        this.slots.release();
        break;
      }
      while (this.health.blocked && !signal.aborted) await sleep(100, signal);
      let batch: Rec[] | undefined;
      try {
        batch = await this.nextBatch(signal);
        this.building = 0;
      } catch (err) {
        this.building = 0;
        this.slots.release();
        this.d.logger.error("firehose shipper could not read the spool; retrying", { error: (err as Error).message });
        await sleep(1000, signal);
        continue;
      }
      if (!batch || batch.length === 0) {
        this.slots.release();
        continue;
      }
      this.d.metrics.inFlight.set(this.slots.inUse);
      const task: Promise<void> = this.deliver(batch)
        .catch((err: unknown) => {
          this.d.logger.error("firehose delivery failed unexpectedly; records stay in the spool", {
            error: (err as Error).message,
          });
        })
        .finally(() => {
          this.tasks.delete(task);
          this.slots.release();
          this.d.metrics.inFlight.set(this.slots.inUse);
        });
      this.tasks.add(task);
    }
  }

  /** Reads and packs up to one full batch; waits up to the linger time for more lines when the batch is not full. */
  private async nextBatch(signal: AbortSignal): Promise<Rec[] | undefined> {
    // never a call much larger than the current rate accepts: a 4 MiB call into a 1 MiB/s stream mostly fails
    const builder = new BatchBuilder<Line>({
      ...this.d.limits,
      maxBatchBytes: this.rate.batchBytes(this.d.limits.maxBatchBytes),
    });
    let sendAt: number | undefined;
    for (;;) {
      if (signal.aborted) return undefined;
      let line: Awaited<ReturnType<Spool["peek"]>>;
      try {
        line = await this.d.spool.peek(this.d.limits.maxRecordBytes);
      } catch (err) {
        // Lines already taken into the batch are consumed from the reader: send them rather than strand them.
        if (builder.isEmpty) throw err;
        break;
      }
      if (line) {
        if (!line.payload) {
          this.d.spool.consume();
          this.oversize.add(
            { ...line },
            `record of ${line.payloadBytes} bytes exceeds Firehose's ${this.d.limits.maxRecordBytes}-byte record limit`,
          );
          continue;
        }
        if (!builder.tryAdd(line as Line)) break;
        this.d.spool.consume();
        this.building++;
        sendAt ??= this.flushing ? Date.now() : Math.min(Date.now(), line.appendedAtMs) + this.d.lingerMs;
        continue;
      }
      if (builder.isEmpty) {
        await this.waitForData(this.flushing ? 10 : undefined);
        continue;
      }
      const wait = this.flushing ? 0 : sendAt! - Date.now();
      if (wait <= 0) break;
      await this.waitForData(wait);
    }
    return builder.records;
  }

  /** Until new records are committed, reading stops, or `ms` passes. */
  private async waitForData(ms?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stopped = whenAborted(this.stopReading.signal);
    const flush = whenAborted(this.flushRequest.signal);
    const waits: Promise<void>[] = [this.d.spool.waitForData(), stopped.promise];
    if (!this.flushing) waits.push(flush.promise);
    if (ms !== undefined) waits.push(new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))));
    await Promise.race(waits);
    clearTimeout(timer);
    stopped.detach();
    flush.detach();
  }

  // ------------------------------------------------------------------ delivery

  private async deliver(records: Rec[]): Promise<void> {
    const { metrics, tuning } = this.d;
    const abandon = this.abandon.signal;
    let pending = records;
    let attempt = 0;
    while (pending.length > 0) {
      if (abandon.aborted) return;
      const bytes = pending.reduce((n, r) => n + r.bytes, 0);
      const waitedBefore = this.pacer.waitedMs;
      if (!(await this.pacer.acquire(pending.length, bytes, abandon))) return;
      if (this.pacer.waitedMs > waitedBefore)
        metrics.pacingWaitSeconds.inc((this.pacer.waitedMs - waitedBefore) / 1000);
      metrics.batchRecords.observe(pending.length);
      metrics.batchBytes.observe(bytes);
      this.rate.onSend(bytes);
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
        this.health.unblock();
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
        const result = { sentAt: started, latencyMs, acceptedBytes, acceptedRecords: pending.length - failed.length };
        if (throttled > 0) {
          metrics.throttledEntries.inc(throttled);
          this.rate.onThrottle({ ...result, throttledBytes });
        } else this.rate.onSuccess(result);
        if (failed.length === 0) return;
        // Progress (some entries accepted) restarts the backoff; a reply where everything failed grows it.
        attempt = failed.length < pending.length ? 1 : attempt + 1;
        metrics.retries.inc({ kind: "entries" }, failed.length);
        this.logRetry(`${failed.length} of ${pending.length} Firehose records failed; resending only those`, {
          code: (outcome.entries.find((e) => !e.ok) as { errorCode: string } | undefined)?.errorCode,
          attempt,
        });
        pending = failed;
        await sleep(fullJitterDelay(attempt, tuning.backoffBaseMs, tuning.backoffCapMs, this.random), abandon);
        continue;
      }

      metrics.requestErrors.inc({ code: outcome.code });
      if (outcome.kind === "retryable" && isThrottlingCode(outcome.code)) {
        metrics.throttledCalls.inc();
        this.rate.onThrottle({ sentAt: started });
      }
      if (outcome.kind === "retryable") {
        attempt++;
        metrics.retries.inc({ kind: "request" });
        this.logRetry("PutRecordBatch failed; retrying with backoff", {
          code: outcome.code,
          message: outcome.message,
          attempt,
        });
        await sleep(fullJitterDelay(attempt, tuning.backoffBaseMs, tuning.backoffCapMs, this.random), abandon);
        continue;
      }
      if (outcome.kind === "blocked") {
        this.health.block(outcome);
        await sleep(jittered(tuning.blockedRetryMs, this.random), abandon);
        continue;
      }
      // invalid: bisect records, then lines within a record, until the poison line is alone.
      this.health.unblock();
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
      this.oversize.add(line, reason);
      return;
    }
    const replacement = deadLetterLineFor(line.payload, reason);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.spool.append([replacement], { force: true });
        break;
      } catch (err) {
        if (this.abandon.signal.aborted) return; // still unacknowledged: it is retried on the next start
        this.d.logger.warn("could not spool a dead letter; retrying", { error: (err as Error).message });
        await sleep(
          fullJitterDelay(attempt, this.d.tuning.backoffBaseMs, this.d.tuning.backoffCapMs, this.random),
          this.abandon.signal,
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
