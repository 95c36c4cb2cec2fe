import { setTimeout as sleep } from "node:timers/promises";

export interface EventuallyOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 10 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("the segment to be deleted"). */
  what?: string;
}

/** Thrown by a probe when waiting longer is pointless (the process being waited for exited): eventually() rethrows it. */
export class GiveUp extends Error {
  override name = "GiveUp";
}

/**
 * Checks `probe` until it returns something truthy and returns that, or throws after `timeoutMs` naming `what`
 * (with the probe's last error, if it threw). Tests wait on conditions with this, never on fixed sleeps.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 10, what = "the condition" }: EventuallyOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError
        ? `; last check threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`
        : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

/**
 * Checks that `probe` stays falsy for `forMs`: for asserting that something does NOT happen (no answer before the
 * write is durable, no file deleted early). Throws naming `what` as soon as it happens.
 */
export async function never(
  probe: () => unknown | Promise<unknown>,
  { forMs, intervalMs = 10, what }: { forMs: number; intervalMs?: number; what: string },
): Promise<void> {
  const until = Date.now() + forMs;
  for (;;) {
    if (await probe()) throw new Error(`${what} happened within ${forMs} ms`);
    if (Date.now() >= until) return;
    await sleep(intervalMs);
  }
}
