import { hostname } from "node:os";
import { join } from "node:path";
import { readFile, rename, rm, writeFile } from "node:fs/promises";

export const SPOOL_LOCK_FILE = ".spool.lock";

/** Two processes on one spool would delete each other's unsent segments: exactly one writer per SPOOL_DIR. */
export class SpoolInUseError extends Error {
  constructor(dir: string, holder: LockContent) {
    super(
      `SPOOL_DIR ${dir} is in use by another wootric-firehose process (host ${holder.host}, pid ${holder.pid}, alive ${Math.round((Date.now() - holder.heartbeatAt) / 1000)} s ago); give each process its own SPOOL_DIR, or delete ${join(dir, SPOOL_LOCK_FILE)} if that process is gone`,
    );
    this.name = "SpoolInUseError";
  }
}

interface LockContent {
  host: string;
  pid: number;
  heartbeatAt: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface SpoolLockOptions {
  /** How often the holder refreshes the lock. */
  heartbeatMs?: number;
  /** A lock not refreshed for this long belongs to a dead process (on another host, where pids cannot be checked). */
  staleMs?: number;
}

/**
 * A lock file refreshed by a heartbeat, so it works on shared filesystems (EFS) where the holder may run on another
 * host. On the same host a dead pid frees it at once; elsewhere the holder must have been silent for `staleMs`.
 * A new task starting while the old one still shuts down waits up to `staleMs` for it.
 */
export async function lockSpoolDir(dir: string, opts: SpoolLockOptions = {}): Promise<{ release(): Promise<void> }> {
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const staleMs = opts.staleMs ?? 20_000;
  const path = join(dir, SPOOL_LOCK_FILE);
  const me: LockContent = { host: hostname(), pid: process.pid, heartbeatAt: Date.now() };
  const deadline = Date.now() + staleMs + heartbeatMs;
  for (;;) {
    let holder: LockContent | undefined;
    try {
      holder = JSON.parse(await readFile(path, "utf8")) as LockContent;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    const free =
      !holder ||
      (holder.host === me.host && (holder.pid === me.pid || !isAlive(holder.pid))) ||
      Date.now() - holder.heartbeatAt > staleMs;
    if (free) break;
    if (Date.now() > deadline) throw new SpoolInUseError(dir, holder!);
    await new Promise((r) => setTimeout(r, Math.min(1000, heartbeatMs)));
  }
  // write + rename: a reader never sees a half-written lock (which would look free)
  const tmp = `${path}.${me.host}.${me.pid}.tmp`;
  const write = async () => {
    await writeFile(tmp, JSON.stringify({ ...me, heartbeatAt: Date.now() }));
    await rename(tmp, path);
  };
  await write();
  const timer = setInterval(() => void write().catch(() => undefined), heartbeatMs);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await rm(path, { force: true });
    },
  };
}
