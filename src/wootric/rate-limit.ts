/**
 * Pacing from Wootric's X-Rate-Limit-* headers (docs.wootric.com/api, "Limits"): limits are per account and per minute,
 * `X-Rate-Limit-Reset` is the Unix second the window ends, and endpoints without the headers are not limited.
 * When the window's budget is spent the next request waits for the reset instead of collecting a 429.
 */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAtMs: number;
}

/** Slack after the reset second: the header has one-second resolution and clocks differ a little. */
export const RESET_MARGIN_MS = 250;
/** The longest single wait: a minute window plus slack, so a skewed or absurd Reset cannot park the poller. */
const MAX_WAIT_MS = 65_000;
/** No Reset header on a 429: the docs say the client may continue after a minute. */
export const DEFAULT_429_WAIT_MS = 60_000;
/** A 429 whose Reset is further in our past than this comes from a server whose clock is behind ours. */
const RESET_SKEW_TOLERANCE_MS = 5_000;

function parseRateLimitHeaders(headers: Headers): RateLimitState | undefined {
  const limit = Number(headers.get("x-rate-limit-limit"));
  const remaining = Number(headers.get("x-rate-limit-remaining"));
  const reset = Number(headers.get("x-rate-limit-reset"));
  if (!headers.has("x-rate-limit-remaining") || !Number.isFinite(remaining)) return undefined;
  return {
    limit: Number.isFinite(limit) && limit > 0 ? limit : remaining,
    remaining,
    resetAtMs: Number.isFinite(reset) && reset > 0 ? reset * 1000 : NaN,
  };
}

export class RateLimitPacer {
  private state: RateLimitState | undefined;

  observe(headers: Headers): void {
    const parsed = parseRateLimitHeaders(headers);
    if (parsed) this.state = parsed;
  }

  /** Milliseconds to wait before the next request so it does not exceed the window's budget. */
  delayBeforeNext(nowMs: number): number {
    const s = this.state;
    if (!s || s.remaining > 0) return 0;
    if (Number.isNaN(s.resetAtMs)) return DEFAULT_429_WAIT_MS;
    return clampWait(s.resetAtMs - nowMs + RESET_MARGIN_MS);
  }

  /** How long to wait after a 429. */
  waitAfter429(headers: Headers, nowMs: number): number {
    const reset = Number(headers.get("x-rate-limit-reset"));
    if (!headers.has("x-rate-limit-reset") || !Number.isFinite(reset) || reset <= 0) return DEFAULT_429_WAIT_MS;
    // The server still refuses although its reset is long past by our clock: our clock is ahead of Wootric's, so
    // its Reset cannot be trusted against ours; waiting 250 ms would spend every retry within seconds.
    if (reset * 1000 + RESET_SKEW_TOLERANCE_MS < nowMs) return DEFAULT_429_WAIT_MS;
    return clampWait(reset * 1000 - nowMs + RESET_MARGIN_MS);
  }

  /** Forget the spent budget once we have waited for its reset. */
  windowPassed(): void {
    if (this.state) this.state = { ...this.state, remaining: this.state.limit };
  }

  snapshot(): RateLimitState | undefined {
    return this.state ? { ...this.state } : undefined;
  }
}

function clampWait(ms: number): number {
  return Math.min(MAX_WAIT_MS, Math.max(RESET_MARGIN_MS, ms));
}
