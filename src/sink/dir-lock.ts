import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { sleep } from "../common/clock.js";
import { isProcessAlive } from "../common/process.js";

/** Another live process holds the directory (two writers would finalise or delete each other's files). */
export class DirectoryInUseError extends Error {
  constructor(variable: string, dir: string, lockPath: string, holder: LockContent) {
    super(
      `${variable} ${dir} is in use by another wootric-firehose process (host ${holder.host}, pid ${holder.pid}, alive ${Math.round((Date.now() - holder.heartbeatAt) / 1000)} s ago); give each process its own ${variable}, or delete ${lockPath} if that process is gone`,
    );
    this.name = "DirectoryInUseError";
  }
}

interface LockContent {
  host: string;
  pid: number;
  heartbeatAt: number;
}

/** Numbers the lock's temp files: unique within this process, and the host and pid make them unique across processes. */
let tempSeq = 0;

export interface DirLockOptions {
  /** How often the holder refreshes the lock. */
  heartbeatMs?: number;
  /** A lock not refreshed for this long belongs to a dead process (on another host, where pids cannot be checked). */
  staleMs?: number;
}

export interface DirLockTarget {
  dir: string;
  /** File name of the lock inside `dir`. */
  lockFile: string;
  /** The setting that names the directory, for the error message (DATA_DIR, SPOOL_DIR). */
  variable: string;
}

/**
 * A single-writer lock file refreshed by a heartbeat, so it also works on shared filesystems (EFS) where the holder
 * may run on another host. On this host a dead pid, or our own pid (a restarted container is pid 1 again), frees it
 * at once and a live one is refused at once; a holder on another host must have been silent for `staleMs`, and a
 * new task starting while the old one still shuts down waits up to that long for it.
 */
export async function lockDirectory(
  target: DirLockTarget,
  opts: DirLockOptions = {},
): Promise<{ release(): Promise<void> }> {
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const staleMs = opts.staleMs ?? 20_000;
  const path = join(target.dir, target.lockFile);
  const me: LockContent = { host: hostname(), pid: process.pid, heartbeatAt: Date.now() };
  const deadline = Date.now() + staleMs + heartbeatMs;
  for (;;) {
    let holder: LockContent | undefined;
    try {
      holder = JSON.parse(await readFile(path, "utf8")) as LockContent;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    if (!holder || holder.pid === undefined) break;
    if (holder.host === me.host) {
      if (holder.pid === me.pid || !isProcessAlive(holder.pid)) break;
      throw new DirectoryInUseError(target.variable, target.dir, path, holder);
    }
    if (Date.now() - holder.heartbeatAt > staleMs) break;
    if (Date.now() > deadline) throw new DirectoryInUseError(target.variable, target.dir, path, holder);
    await sleep(Math.min(1000, heartbeatMs));
  }
  // write + rename: a reader never sees a half-written lock (which would look free). Each write has its own temp
  // name, so two writes can never rename each other's file away (ENOENT), even from two locks in one process.
  const write = async () => {
    const tmp = `${path}.${me.host}.${me.pid}.${++tempSeq}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ ...me, heartbeatAt: Date.now() }));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  };
  await write();
  // One heartbeat at a time: the next is scheduled only when the last write has finished, and release() stops the
  // timer and waits for a write in flight, since a write landing after the rm would recreate the lock and make the
  // next holder wait for it to go stale. A failed heartbeat is retried at the next beat.
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      beating = write()
        .catch(() => undefined)
        .then(() => {
          if (!released) schedule();
        });
    }, heartbeatMs);
    timer.unref();
  };
  schedule();
  return {
    release: async () => {
      released = true;
      clearTimeout(timer);
      await beating;
      await rm(path, { force: true });
    },
  };
}
