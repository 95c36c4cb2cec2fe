import { setMaxListeners } from "node:events";
import type { Logger } from "../../log.js";
import type { Readiness } from "../sink.js";
import type { Spool, SpooledLine } from "../spool/spool.js";
import { fullJitterDelay, jittered, sleep } from "./backoff.js";
import type { PackLimits, ShipperTuning } from "./config.js";
import { deadLetterLineFor, isDeadLetterLine, type S3DeadLetterWriter } from "./dead-letter.js";
import { type PaceLimits, Pacer, Slots } from "./pacer.js";
import { BatchBuilder, billedUnits, type PackedRecord, splitRecord } from "./packer.js";
import { RateController, type RateControllerOptions } from "./rate-controller.js";
import { type FirehoseService, isThrottlingCode, type PutOutcome } from "./service.js";
import type { ProducerMetrics } from "./sink-metrics.js";

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

interface Blocked {
  code: string;
  message: string;
  since: number;
}

interface S3Job {
  line: SpooledLine;
  reason: string;
}

/**
 * A fresh promise that resolves when `signal` aborts; `detach()` once done with it. (Racing one long-lived pending
 * promise on every wait instead would keep a reaction per call alive until it settles: memory grows without bound.)
 */
function whenAborted(signal: AbortSignal): { promise: Promise<void>; detach: () => void } {
  let listener!: () => void;
  const promise = new Promise<void>((resolve) => (listener = resolve));
  if (signal.aborted) listener();
  else signal.addEventListener("abort", listener, { once: true });
  return { promise, detach: () => signal.removeEventListener("abort", listener) };
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
  private readonly s3Queue: S3Job[] = [];
  private s3Worker: Promise<void> | undefined;
  /** Cleared synchronously when the queue is seen empty, so a job queued right then still starts a worker. */
  private s3Running = false;
  private blocked: Blocked | undefined;
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
  }

  start(): void {
    this.loop ??= this.produce().catch((err) => {
      this.d.logger.error("firehose shipper stopped unexpectedly; records stay in the spool", {
        error: (err as Error).message,
      });
    });
  }

  readiness(): Readiness {
    if (this.blocked) {
      return {
        ready: false,
        reason: `Firehose stream "${this.d.service.streamName}" is unusable (${this.blocked.code}: ${this.blocked.message}); records are kept in the spool and retried`,
      };
    }
    const parked = this.s3Queue.length;
    if (parked > 0 && !this.d.deadLetters) {
      return {
        ready: false,
        reason: `${parked} record(s) exceed Firehose's 1,024,000-byte record limit and are held in the spool: set DEAD_LETTER_URL=s3://bucket/prefix so they can be written to S3`,
      };
    }
    return { ready: true };
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
        (this.s3Queue.length === 0 || !this.d.deadLetters) &&
        !this.blocked
      ) {
        drained = true;
        break;
      }
      if (this.blocked) break; // a blocked stream will not recover within a shutdown deadline
      await sleep(Math.min(20, deadline - Date.now()));
    }
    this.stopReading.abort();
    this.abandon.abort();
    await Promise.allSettled([...this.tasks]);
    await this.s3Worker;
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
      while (this.blocked && !signal.aborted) await sleep(100, signal);
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
          this.toS3(
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
        this.unblock();
        const failed: Rec[] = [];
        let throttled = 0;
        let acceptedBytes = 0;
        outcome.entries.forEach((entry, i) => {
          const rec = pending[i]!;
          if (entry.ok) {
            this.accepted(rec);
            acceptedBytes += rec.bytes;
          } else {
            failed.push(rec);
            metrics.entryFailures.inc({ code: entry.errorCode });
            if (isThrottlingCode(entry.errorCode)) throttled++;
          }
        });
        const result = { sentAt: started, latencyMs, acceptedBytes, acceptedRecords: pending.length - failed.length };
        if (throttled > 0) {
          metrics.throttledEntries.inc(throttled);
          this.rate.onThrottle(result);
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
        this.block(outcome);
        await sleep(jittered(tuning.blockedRetryMs, this.random), abandon);
        continue;
      }
      // invalid: bisect records, then lines within a record, until the poison line is alone.
      this.unblock();
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
      this.toS3(line, reason);
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

  // ------------------------------------------------------------------ oversize records → S3

  private toS3(line: SpooledLine, reason: string): void {
    const { payload: _dropped, ...ref } = line; // keep only the reference: the payload is re-read from disk when written
    this.s3Queue.push({ line: ref, reason });
    if (!this.d.deadLetters) {
      this.d.logger.error(
        "a record cannot go through Firehose and DEAD_LETTER_URL is not set; it is held in the spool",
        {
          reason,
          bytes: line.payloadBytes,
        },
      );
      return;
    }
    if (!this.s3Running) {
      this.s3Running = true;
      this.s3Worker = this.drainS3();
    }
  }

  private async drainS3(): Promise<void> {
    const writer = this.d.deadLetters!;
    const abandon = this.abandon.signal;
    let attempt = 0;
    for (;;) {
      if (this.s3Queue.length === 0 || abandon.aborted) {
        this.s3Running = false;
        return;
      }
      const job = this.s3Queue[0]!;
      try {
        const payload = await this.d.spool.readPayload(job.line);
        const abandoned = whenAborted(abandon);
        const key = await Promise.race([
          writer.write(payload, job.reason),
          abandoned.promise.then(() => undefined),
        ]).finally(abandoned.detach);
        if (key === undefined) continue; // shutting down: the line stays unacknowledged in the spool
        this.s3Queue.shift();
        this.d.spool.ack([job.line]);
        this.d.metrics.deadLetters.inc({ path: "s3" });
        attempt = 0;
        this.d.logger.warn("record too large for Firehose written to S3 as a dead letter", {
          bucket: writer.location.bucket,
          key,
          reason: job.reason,
        });
      } catch (err) {
        attempt++;
        this.d.logger.warn("dead-letter write to S3 failed; the record stays in the spool and is retried", {
          error: (err as Error).message,
          attempt,
        });
        await sleep(fullJitterDelay(attempt, 500, this.d.tuning.deadLetterRetryCapMs, this.random), abandon);
      }
    }
  }

  // ------------------------------------------------------------------ blocked stream

  private block(outcome: { code: string; message: string }): void {
    if (!this.blocked) {
      this.d.logger.error(
        "FIREHOSE STREAM UNUSABLE: stopped draining; records are kept in the spool and retried slowly. Check that the stream exists in this region and account, the IAM policy allows firehose:PutRecordBatch, and the KMS key is usable.",
        {
          stream: this.d.service.streamName,
          code: outcome.code,
          message: outcome.message,
          spool: this.d.spool.stats(),
        },
      );
      this.blocked = { code: outcome.code, message: outcome.message, since: Date.now() };
      this.d.metrics.blocked.set(1);
    } else if (Date.now() - this.blocked.since > 60_000) {
      this.d.logger.error("Firehose stream still unusable", {
        stream: this.d.service.streamName,
        code: outcome.code,
        spool: this.d.spool.stats(),
      });
      this.blocked.since = Date.now();
    }
  }

  private unblock(): void {
    if (!this.blocked) return;
    this.d.logger.info("Firehose stream usable again; draining the spool", { stream: this.d.service.streamName });
    this.blocked = undefined;
    this.d.metrics.blocked.set(0);
  }

  private logRetry(message: string, meta: Record<string, unknown>): void {
    // Retries are routine under throttling; one line per few seconds is enough (the metrics count every one).
    if (Date.now() - this.lastLoggedRetry < 5000) return;
    this.lastLoggedRetry = Date.now();
    this.d.logger.warn(message, meta);
  }
}
