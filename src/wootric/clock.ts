/**
 * Time as the poller sees it. Injected everywhere a wait or a timestamp matters so tests and the benchmark can run
 * the real rate-limit rules (100 requests a minute) on a compressed clock instead of waiting minutes.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` clock milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepReal(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: sleepReal };

/**
 * A clock that runs `scale` times faster than the wall clock, starting at `start` (default: now).
 * With scale 60 one wall second is one clock minute, so a per-minute rate window lasts one second.
 */
export function scaledClock(scale: number, start: number = Date.now()): Clock {
  const origin = performance.now();
  return {
    now: () => start + (performance.now() - origin) * scale,
    sleep: (ms, signal) => sleepReal(ms / scale, signal),
  };
}
