// PLACEHOLDER: replaced by the poller implementation (issue 4).
/** `sync --once [--streams a,b]` and `backfill --since YYYY-MM-DD [--until YYYY-MM-DD] [--streams a,b]`. Return the exit code. */
export async function runSyncCommand(_argv: string[]): Promise<number> {
  throw new Error("sync not implemented yet");
}
export async function runBackfillCommand(_argv: string[]): Promise<number> {
  throw new Error("backfill not implemented yet");
}
