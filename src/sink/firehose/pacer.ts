import { sleepUnlessAborted } from "../../common/clock.js";

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

export interface PaceLimits {
  recordsPerSecond: number;
  bytesPerSecond: number;
  requestsPerSecond: number;
}

/** Client-side pacing under the stream quotas: records/s, bytes/s, requests/s, taken together, in FIFO order. */
export class Pacer {
  private readonly records: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly requests: TokenBucket;
  private chain: Promise<void> = Promise.resolve();
  /** Total time callers spent waiting for tokens (exported as a metric). */
  waitedMs = 0;

  constructor(limits: PaceLimits, now: () => number = Date.now) {
    this.records = new TokenBucket(limits.recordsPerSecond, limits.recordsPerSecond, now);
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond, now);
    this.requests = new TokenBucket(limits.requestsPerSecond, limits.requestsPerSecond, now);
  }

  /** Resolves when one request of `records` records and `bytes` bytes may be sent (false if aborted). */
  acquire(records: number, bytes: number, signal?: AbortSignal): Promise<boolean> {
    const turn = this.chain.then(async () => {
      for (;;) {
        if (signal?.aborted) return false;
        const wait = Math.max(this.records.waitMs(), this.bytes.waitMs(), this.requests.waitMs());
        if (wait === 0) break;
        this.waitedMs += wait;
        if (!(await sleepUnlessAborted(wait, signal))) return false;
      }
      this.records.take(records);
      this.bytes.take(bytes);
      this.requests.take(1);
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
