import { setMaxListeners } from "node:events";
import { sleepUnlessAborted, whenAborted } from "../../common/clock.js";
import type { Logger } from "../../log.js";
import type { Readiness } from "../../ops/readiness.js";
import type { Spool } from "../spool/spool.js";
import type { PackLimits, ShipperTuning } from "./config.js";
import { OversizeToS3, type S3DeadLetterWriter } from "./dead-letter.js";
import { Delivery, type Line, type Rec } from "./delivery.js";
import { type PaceLimits, Pacer, Slots } from "./pacer.js";
import { BatchBuilder } from "./packer.js";
import { RateController, type RateControllerOptions } from "./rate-controller.js";
import type { FirehoseService } from "./service.js";
import type { ProducerMetrics } from "./sink-metrics.js";
import { StreamHealth } from "./stream-health.js";

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
  private readonly delivery: Delivery;
  /** Aborted when stop() starts flushing, so a batch waiting out its linger is sent at once. */
  private readonly flushRequest = new AbortController();

  constructor(private readonly d: ShipperDeps) {
    // every in-flight task, the pacer and the dead-letter worker wait on these signals at the same time
    setMaxListeners(1000, this.stopReading.signal, this.abandon.signal);
    this.slots = new Slots(d.maxInFlight);
    this.rate = new RateController({ ...d.rateControl, maxRate: d.pacing.bytesPerSecond });
    this.pacer = new Pacer(d.pacing, this.rate);
    const random = d.random ?? Math.random;
    this.health = new StreamHealth(d.service.streamName, d.spool, d.logger, d.metrics);
    this.oversize = new OversizeToS3({
      spool: d.spool,
      writer: d.deadLetters,
      logger: d.logger,
      metrics: d.metrics,
      retryCapMs: d.tuning.deadLetterRetryCapMs,
      abandon: this.abandon.signal,
      random,
    });
    this.delivery = new Delivery({
      ...d,
      pacer: this.pacer,
      rate: this.rate,
      health: this.health,
      oversize: this.oversize,
      abandon: this.abandon.signal,
      random,
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
      await sleepUnlessAborted(Math.min(20, deadline - Date.now()));
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
      while (this.health.blocked && !signal.aborted) await sleepUnlessAborted(100, signal);
      let batch: Rec[] | undefined;
      try {
        batch = await this.nextBatch(signal);
        this.building = 0;
      } catch (err) {
        this.building = 0;
        this.slots.release();
        this.d.logger.error("firehose shipper could not read the spool; retrying", { error: (err as Error).message });
        await sleepUnlessAborted(1000, signal);
        continue;
      }
      if (!batch || batch.length === 0) {
        this.slots.release();
        continue;
      }
      this.d.metrics.inFlight.set(this.slots.inUse);
      const task: Promise<void> = this.delivery
        .deliver(batch)
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
}
