/**
 * Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog): a delay drawn
 * uniformly from [0, min(cap, base × 2^retry)), so many clients retrying the same outage do not synchronise.
 * `retry` counts from 0 (the ceiling of the first wait is `base`).
 */
export function fullJitterDelay(
  retry: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(retry, 0), 30));
  return Math.floor(random() * ceiling);
}

/** A period ±50 %: keeps many stalled instances from retrying in lock-step. */
export function jittered(periodMs: number, random: () => number = Math.random): number {
  return Math.floor(periodMs * (0.5 + random()));
}
