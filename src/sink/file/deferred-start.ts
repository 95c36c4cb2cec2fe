/** Errors that mean "the disk is full": start-up waits for space instead of exiting. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT";
}

export interface DeferredStartHooks {
  retryMs: number;
  /** True once the sink is closed: retries stop. */
  stopped: () => boolean;
  /** Start-up is waiting (for space, or after a failed retry). */
  waiting: (err: unknown) => void;
  started: () => void;
}

/**
 * Runs `attempt` once. If the disk is full it does not throw: it reports `waiting` and retries every `retryMs` until an
 * attempt succeeds or the sink is closed. Any other error on the first attempt is thrown (start-up fails loudly).
 */
export async function startWhenSpace(attempt: () => Promise<void>, hooks: DeferredStartHooks): Promise<void> {
  try {
    await attempt();
    return;
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    hooks.waiting(err);
  }
  const retry = async (): Promise<void> => {
    if (hooks.stopped()) return;
    try {
      await attempt();
      hooks.started();
    } catch (err) {
      hooks.waiting(err);
      setTimeout(() => void retry(), hooks.retryMs).unref();
    }
  };
  setTimeout(() => void retry(), hooks.retryMs).unref();
}
