import { sleepUnlessAborted } from "../../common/clock.js";
import type { RateController } from "./rate-controller.js";

/**
 * A token bucket that may go into debt: a request waits until the balance is non-negative, then takes its full cost.
 * That lets one request bigger than a second's budget (a 4 MiB batch at 1 MiB/s) through, and makes the next wait.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly capacity: number = ratePerSecond,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  /** Milliseconds until the balance is non-negative (0 when it already is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  take(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }
}

/** Optional fixed ceilings (FIREHOSE_MAX_*_PER_SECOND); undefined means none. */
export interface PaceLimits {
  recordsPerSecond?: number | undefined;
  bytesPerSecond?: number | undefined;
  requestsPerSecond?: number | undefined;
}

/** A bucket whose rate follows the adaptive controller; it holds at most one batch worth of unused allowance. */
class AdaptiveBucket {
  private tokens = 0;
  private last: number;

  constructor(
    private readonly controller: RateController,
    private readonly capacity: () => number,
    private readonly now: () => number,
  ) {
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity(), this.tokens + ((t - this.last) / 1000) * this.controller.rate);
    this.last = t;
  }

  waitMs(): number {
    this.refill();
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.controller.rate) * 1000);
  }

  take(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }
}

/**
 * Client-side pacing, in FIFO order: bytes/s at the adaptive controller's rate, plus the optional fixed ceilings on
 * records/s and requests/s (bytes/s's ceiling is the controller's maximum rate).
 */
export class Pacer {
  private readonly records: TokenBucket | undefined;
  private readonly requests: TokenBucket | undefined;
  private readonly bytes: AdaptiveBucket;
  private chain: Promise<void> = Promise.resolve();
  /** Total time callers spent waiting for tokens (exported as a metric). */
  waitedMs = 0;

  constructor(
    limits: PaceLimits,
    private readonly controller: RateController,
    now: () => number = () => performance.now(),
  ) {
    const bucket = (rate: number | undefined) => (rate === undefined ? undefined : new TokenBucket(rate, rate, now));
    this.records = bucket(limits.recordsPerSecond);
    this.requests = bucket(limits.requestsPerSecond);
    this.bytes = new AdaptiveBucket(controller, () => controller.batchBytes(Number.POSITIVE_INFINITY), now);
  }

  /** Resolves when one request of `records` records and `bytes` bytes may be sent (false if aborted). */
  acquire(records: number, bytes: number, signal?: AbortSignal): Promise<boolean> {
    const turn = this.chain.then(async () => {
      for (;;) {
        if (signal?.aborted) return false;
        const byRate = this.bytes.waitMs();
        const wait = Math.max(this.records?.waitMs() ?? 0, byRate, this.requests?.waitMs() ?? 0);
        if (byRate > 0) this.controller.limited();
        if (wait === 0) break;
        const slept = Math.min(wait, 250); // then re-check: the rate may change meanwhile
        this.waitedMs += slept;
        if (!(await sleepUnlessAborted(slept, signal))) return false;
      }
      this.records?.take(records);
      this.bytes.take(bytes);
      this.requests?.take(1);
      return true;
    });
    this.chain = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }
}

/** Bounds the number of PutRecordBatch requests in flight. */
export class Slots {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.used--;
  }
}
