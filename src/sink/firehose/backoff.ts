/** Exponential backoff with full jitter (AWS architecture blog): uniform in [0, min(cap, base × 2^attempt)). */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/** A period ±50 %: keeps many stalled instances from retrying in lock-step. */
export function jittered(periodMs: number, random: () => number = Math.random): number {
  return Math.floor(periodMs * (0.5 + random()));
}

/** A sleep that ends early (resolving false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A fresh promise that resolves when `signal` aborts; `detach()` once done with it. (Racing one long-lived pending
 * promise on every wait instead would keep a reaction per call alive until it settles: memory grows without bound.)
 */
export function whenAborted(signal: AbortSignal): { promise: Promise<void>; detach: () => void } {
  let listener!: () => void;
  const promise = new Promise<void>((resolve) => (listener = resolve));
  if (signal.aborted) listener();
  else signal.addEventListener("abort", listener, { once: true });
  return { promise, detach: () => signal.removeEventListener("abort", listener) };
}
