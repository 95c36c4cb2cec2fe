/**
 * Time as the service sees it. Injected wherever a wait or a timestamp matters, so tests and benchmarks can run real
 * rules (the Wootric API's 100 requests a minute, lease TTLs) on a compressed clock instead of waiting minutes.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` clock milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Resolves after `ms` wall-clock milliseconds; rejects with the signal's reason as soon as it aborts (at once when it
 * already has). `unref` lets the process exit while the sleep is pending (deadlines during shutdown).
 */
export function sleep(ms: number, signal?: AbortSignal, opts: { unref?: boolean } = {}): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    if (opts.unref) timer.unref();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Like `sleep`, but an abort ends it early by resolving `false` instead of rejecting; `true` when the time passed. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  return sleep(ms, signal).then(
    () => true,
    () => false,
  );
}

export const systemClock: Clock = { now: () => Date.now(), sleep: (ms, signal) => sleep(ms, signal) };

/**
 * A clock that runs `scale` times faster than the wall clock, starting at `start` (default: now).
 * With scale 60 one wall second is one clock minute, so a per-minute rate window lasts one second.
 */
export function scaledClock(scale: number, start: number = Date.now()): Clock {
  const origin = performance.now();
  return {
    now: () => start + (performance.now() - origin) * scale,
    sleep: (ms, signal) => sleep(ms / scale, signal),
  };
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

/**
 * Runs `fn` with a per-call signal: aborted by `signal` or after `timeoutMs`, and detached from both once `fn` is done
 * (AbortSignal.timeout would keep a pending timer for the whole timeout after every call; AbortSignal.any would keep
 * one dependant per call on a long-lived caller signal).
 */
export async function withTimeoutSignal<T>(
  signal: AbortSignal | undefined,
  timeoutMs: number,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error(`request timed out after ${timeoutMs} ms`)), timeoutMs);
  const onAbort = () => ctrl.abort(signal?.reason);
  if (signal?.aborted) ctrl.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await fn(ctrl.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
