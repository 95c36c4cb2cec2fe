/**
 * Adaptive send rate (bytes per second) for one producer on a Firehose stream whose quota is unknown and shared.
 *
 * The stream says when it is over its quota: entries come back "Slow down." (ServiceUnavailableException in
 * RequestResponses) or whole calls fail with ThrottlingException / LimitExceededException / ServiceUnavailableException.
 * The controller follows the AWS SDK's adaptive retry mode (CUBIC, RFC 9438) with three changes: the unit is bytes,
 * not requests (a call may carry 1 KB or 4 MiB); per-entry partial failures count as throttling; and the clock is
 * injected so the behaviour can be tested deterministically.
 *
 *  - Slow start: until the first throttle the rate doubles every `doublingMs` while the producer has more to send
 *    than the rate lets through.
 *  - Throttle: the rate is cut to `beta` × min(rate, rate measured over the last half second), at most once per round
 *    (a reply to a call sent before the last cut, or within `cutCooldownMs` of it, reports congestion already acted
 *    on).
 *  - Success: the rate follows the cubic curve W(t) = C·(t − K)³ + Wmax, K = ∛(Wmax·(1 − beta)/C), which climbs back
 *    to the last rate that was throttled, lingers near it, then probes above it. C is absolute (bytes/s per s³), so
 *    every producer on a stream gains the same bytes/s in the same time while cuts are proportional to each one's
 *    rate: independent producers converge to equal shares without talking to each other. With "fast convergence" a
 *    producer whose throttled rate fell since its previous throttle releases a little more for newcomers.
 *  - Latency: while calls take more than `latencyFactor` × their usual time (compared between calls of about the
 *    same size), the rate holds instead of growing (a slower service, or a congested link, is no place to probe).
 *  - Growth only while the rate is what limits the producer (it had to wait for the rate recently, and it sends at
 *    least 40 % of it): an idle, trickling or CPU-bound producer keeps the rate it proved rather than inventing one it
 *    never tried.
 */
export interface RateControllerOptions {
  /** Milliseconds, monotonic. */
  now?: () => number;
  /** Starting rate, bytes/s (default 1 MiB/s: the smallest per-stream quota of any region). */
  initialRate?: number;
  /** Floor, bytes/s. */
  minRate?: number;
  /** Ceiling, bytes/s (FIREHOSE_MAX_BYTES_PER_SECOND; default none). */
  maxRate?: number;
  /** Multiplicative cut on throttling. */
  beta?: number;
  /** CUBIC's C in bytes/s per s³: with the default, a 1 MiB/s producer is back at its last rate 1.5 s after a cut. */
  cubicC?: number;
  /** Slow-start doubling period, and the fastest growth allowed at any time. */
  doublingMs?: number;
  /** A call carries at most this many seconds of the current rate (bounded by the hard limits of the caller). */
  batchSeconds?: number;
  minBatchBytes?: number;
  /** Latency above this multiple of its moving average (plus `latencySlackMs`) holds the rate. */
  latencyFactor?: number;
  latencySlackMs?: number;
  /**
   * A throttled reply to a call sent less than this long after the last cut does not cut again: the stream's quota
   * has about a second of burst, so its answer to a cut lags it, and cutting on every reply meanwhile would collapse
   * the rate far below the quota.
   */
  cutCooldownMs?: number;
}

const DEFAULTS = {
  initialRate: 1024 * 1024,
  minRate: 16 * 1024,
  maxRate: Number.POSITIVE_INFINITY,
  beta: 0.7,
  cubicC: 93_000,
  doublingMs: 500,
  batchSeconds: 0.1,
  minBatchBytes: 32 * 1024,
  latencyFactor: 2,
  latencySlackMs: 50,
  cutCooldownMs: 250,
};

/** How long the rate counts as "limiting" after the producer last had to wait for it. */
const LIMITED_WINDOW_MS = 1000;
/** Window of the measured send rate (what a cut starts from, and what growth must keep up with). */
const MEASURE_WINDOW_MS = 500;
/** Growth only while the producer sends at least this fraction of the allowed rate (else CPU, slots or latency bind). */
const USED_FRACTION = 0.4;
/** Window of the reported accept rates (metrics, drain estimate): steadier than the control loop's. */
const REPORT_WINDOW_MS = 10_000;

/** Bytes over a sliding window, in fixed slots (cheap to update, exact enough for rates). */
class WindowedSum {
  private readonly slots: number[];
  private readonly slotMs: number;
  private lastSlot = 0;

  constructor(
    private readonly windowMs: number,
    slotCount = 20,
  ) {
    this.slots = new Array<number>(slotCount).fill(0);
    this.slotMs = windowMs / slotCount;
  }

  private advance(at: number): void {
    const slot = Math.floor(at / this.slotMs);
    if (slot - this.lastSlot >= this.slots.length) this.slots.fill(0);
    else for (let s = this.lastSlot + 1; s <= slot; s++) this.slots[s % this.slots.length] = 0;
    if (slot > this.lastSlot) this.lastSlot = slot;
  }

  add(at: number, n: number): void {
    this.advance(at);
    this.slots[Math.floor(at / this.slotMs) % this.slots.length]! += n;
  }

  /** Per second, over the window. */
  rate(at: number): number {
    this.advance(at);
    return (this.slots.reduce((a, b) => a + b, 0) * 1000) / this.windowMs;
  }
}

export interface RateSnapshot {
  /** The rate calls are paced at now, bytes/s. */
  allowedBytesPerSecond: number;
  /** Bytes/s handed to Firehose over the last second, and accepted by it over the last ten. */
  sentBytesPerSecond: number;
  acceptedBytesPerSecond: number;
  acceptedRecordsPerSecond: number;
  /** The rate at the last throttle (0 before the first). */
  lastThrottledRate: number;
  slowStart: boolean;
}

export class RateController {
  private readonly o: typeof DEFAULTS;
  private readonly now: () => number;
  private current: number;
  private slowStart = true;
  private wMax = 0;
  private wMaxPrevious = 0;
  private k = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastGrowthAt: number;
  private lastLimitedAt = Number.NEGATIVE_INFINITY;
  private latencyAvgMs: number | undefined;
  private callBytesAvg: number | undefined;
  private readonly sent = new WindowedSum(MEASURE_WINDOW_MS);
  private readonly acceptedRecent = new WindowedSum(MEASURE_WINDOW_MS);
  private readonly accepted = new WindowedSum(REPORT_WINDOW_MS);
  private readonly acceptedRecords = new WindowedSum(REPORT_WINDOW_MS);

  constructor(options: RateControllerOptions = {}) {
    const { now, ...rest } = options;
    this.o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    this.now = now ?? (() => performance.now());
    this.current = this.clamp(this.o.initialRate);
    this.lastGrowthAt = this.now();
  }

  /** The rate to pace at, bytes/s. */
  get rate(): number {
    return this.current;
  }

  /** The largest call worth sending now: `batchSeconds` of the current rate, at least `minBatchBytes`. */
  batchBytes(hardLimit: number): number {
    return Math.max(
      1,
      Math.min(hardLimit, Math.max(this.o.minBatchBytes, Math.floor(this.current * this.o.batchSeconds))),
    );
  }

  /** The producer had to wait for the rate: it has more to send than the rate lets through. */
  limited(): void {
    this.lastLimitedAt = this.now();
  }

  /** A call of `bytes` left now. */
  onSend(bytes: number): void {
    this.sent.add(this.now(), bytes);
  }

  /** A call sent at `sentAt` came back with every entry accepted (or with failures that were not throttling). */
  onSuccess(r: {
    sentAt: number;
    latencyMs: number;
    acceptedBytes: number;
    acceptedRecords: number;
    /** Size of the call; latency is only compared between calls of about the same size. */
    sentBytes?: number;
  }): void {
    const at = this.now();
    this.accepted.add(at, r.acceptedBytes);
    this.acceptedRecent.add(at, r.acceptedBytes);
    this.acceptedRecords.add(at, r.acceptedRecords);
    const size = r.sentBytes ?? r.acceptedBytes;
    // A bigger call takes longer to upload; that is not congestion (calls grow with the rate).
    const comparable =
      this.callBytesAvg === undefined || (size <= this.callBytesAvg * 1.5 && size >= this.callBytesAvg / 1.5);
    const slow =
      comparable &&
      this.latencyAvgMs !== undefined &&
      r.latencyMs > this.latencyAvgMs * this.o.latencyFactor + this.o.latencySlackMs;
    this.latencyAvgMs = this.latencyAvgMs === undefined ? r.latencyMs : this.latencyAvgMs * 0.9 + r.latencyMs * 0.1;
    this.callBytesAvg = this.callBytesAvg === undefined ? size : this.callBytesAvg * 0.9 + size * 0.1;
    const dt = Math.max(0, at - this.lastGrowthAt);
    this.lastGrowthAt = at;
    if (slow || at - this.lastLimitedAt > LIMITED_WINDOW_MS) return;
    if (this.sent.rate(at) < this.current * USED_FRACTION) return;
    // never faster than slow start, whatever the cubic curve says after a long quiet spell, and at most one
    // doubling per reply (a stalled event loop must not turn into a jump)
    const fastest = this.current * 2 ** (Math.min(dt, this.o.doublingMs) / this.o.doublingMs);
    const target = this.slowStart ? fastest : Math.min(fastest, this.cubic(at));
    if (target > this.current) this.current = this.clamp(target);
  }

  /** Some entries were accepted and others throttled: count the accepted ones, then cut. */
  onThrottle(r: { sentAt: number; acceptedBytes?: number; acceptedRecords?: number; throttledBytes?: number }): void {
    const at = this.now();
    if (r.acceptedBytes) {
      this.accepted.add(at, r.acceptedBytes);
      this.acceptedRecent.add(at, r.acceptedBytes);
    }
    if (r.acceptedRecords) this.acceptedRecords.add(at, r.acceptedRecords);
    if (r.sentAt < this.lastCutAt + this.o.cutCooldownMs) return; // congestion already acted on
    const measured = this.sent.rate(at);
    let from = measured > 0 ? Math.min(this.current, measured) : this.current;
    // Leaving slow start the rate may be several times the quota (the stream's burst hid it): start from what the
    // stream actually accepted lately instead, or the next few cuts would all be spent getting back under it.
    const accepted = this.acceptedRecent.rate(at);
    if (this.slowStart && accepted > 0) from = Math.min(from, accepted);
    // The share of this call's bytes the stream took says how far over it we are (no deeper than halving).
    if (this.slowStart && r.throttledBytes) {
      const took = (r.acceptedBytes ?? 0) / ((r.acceptedBytes ?? 0) + r.throttledBytes);
      from *= Math.max(0.5, took);
    }
    // fast convergence: a throttled rate lower than the previous one means others want a share; leave them more
    this.wMaxPrevious = this.wMax;
    this.wMax = !this.slowStart && from < this.wMaxPrevious ? (from * (1 + this.o.beta)) / 2 : from;
    this.slowStart = false;
    this.current = this.clamp(from * this.o.beta);
    this.k = Math.cbrt((this.wMax * (1 - this.o.beta)) / this.o.cubicC);
    this.lastCutAt = at;
    this.lastGrowthAt = at;
  }

  snapshot(): RateSnapshot {
    const at = this.now();
    return {
      allowedBytesPerSecond: this.current,
      sentBytesPerSecond: this.sent.rate(at),
      acceptedBytesPerSecond: this.accepted.rate(at),
      acceptedRecordsPerSecond: this.acceptedRecords.rate(at),
      lastThrottledRate: this.wMax,
      slowStart: this.slowStart,
    };
  }

  private cubic(at: number): number {
    const t = (at - this.lastCutAt) / 1000;
    return this.o.cubicC * (t - this.k) ** 3 + this.wMax;
  }

  private clamp(rate: number): number {
    return Math.min(this.o.maxRate, Math.max(this.o.minRate, rate));
  }
}
