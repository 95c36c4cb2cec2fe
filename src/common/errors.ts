/**
 * The one error base of the sync path (poller, state, Wootric client). Each error says what it means for the run it
 * interrupts, and callers decide with `instanceof`, never by comparing error names:
 *  - fatal: no further stream may run in this run (another replica owns the state now, the credentials were
 *    refused, the API cannot be reached at all). The next scheduled run starts over cleanly.
 *  - retryable: only the stream that hit it stops, at its last durable point; the others go on and the next run
 *    retries it.
 */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for errors that must stop the whole run (see SyncError). */
export function isFatal(err: unknown): boolean {
  return err instanceof SyncError && err.fatal;
}
