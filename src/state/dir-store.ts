import { createHash, randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { sleep } from "../common/clock.js";
import { fsyncDir, mkdirDurable } from "../common/durable-fs.js";
import { isProcessAlive } from "../common/process.js";
import { assertKey, StateConflictError, type StateStore, type StoredDoc, type WriteCondition } from "./store.js";

/** A lock older than this belongs to a writer that died between taking it and renaming (a few ms of work). */
const STALE_LOCK_MS = 10_000;

/**
 * A lock whose writer is gone: held by a process of this host that no longer runs (killed between taking the lock and
 * releasing it), or older than STALE_LOCK_MS (a writer elsewhere that died; the locked work takes milliseconds).
 */
async function isAbandoned(lock: string): Promise<boolean> {
  const st = await fs.stat(lock).catch(() => undefined);
  if (!st) return false;
  if (Date.now() - st.mtimeMs > STALE_LOCK_MS) return true;
  const owner = await fs
    .readFile(lock, "utf8")
    .then((text) => JSON.parse(text) as { host?: unknown; pid?: unknown })
    .catch(() => undefined);
  return owner?.host === hostname() && typeof owner.pid === "number" && !isProcessAlive(owner.pid);
}

function versionOf(body: string): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 32);
}

/**
 * Directory-backed state: each key is a file written to a temporary name, fsynced, then renamed over the target
 * and the directory fsynced. Compare-and-swap across processes uses an O_EXCL lock file per key around
 * "check version, rename"; creation without a lock uses link(2), which fails atomically when the key exists.
 */
export class DirStateStore implements StateStore {
  constructor(readonly root: string) {}

  get location(): string {
    return path.resolve(this.root);
  }

  async read(key: string): Promise<StoredDoc | undefined> {
    assertKey(key);
    try {
      const body = await fs.readFile(this.file(key), "utf8");
      return { body, version: versionOf(body) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async write(key: string, body: string, condition: WriteCondition): Promise<string> {
    assertKey(key);
    const target = this.file(key);
    const dir = path.dirname(target);
    await mkdirDurable(dir);
    const tmp = `${target}.${randomUUID()}.tmp`;
    const fh = await fs.open(tmp, "wx");
    try {
      await fh.writeFile(body, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      if ("ifAbsent" in condition) {
        try {
          await fs.link(tmp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new StateConflictError(key, "it already exists");
          throw err;
        }
      } else {
        await this.withLock(target, key, async () => {
          const current = await this.read(key);
          if (!current) throw new StateConflictError(key, "it no longer exists");
          if (current.version !== condition.ifVersion) throw new StateConflictError(key, "its version changed");
          await fs.rename(tmp, target);
        });
      }
      await fsyncDir(dir);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return versionOf(body);
  }

  async remove(key: string, version: string): Promise<void> {
    assertKey(key);
    const target = this.file(key);
    await this.withLock(target, key, async () => {
      const current = await this.read(key);
      if (!current) return;
      if (current.version !== version) throw new StateConflictError(key, "its version changed");
      await fs.rm(target, { force: true });
    });
    await fsyncDir(path.dirname(target));
  }

  private file(key: string): string {
    return path.join(this.root, ...key.split("/"));
  }

  private async withLock<T>(target: string, key: string, fn: () => Promise<T>): Promise<T> {
    const lock = `${target}.lock`;
    // Longer than STALE_LOCK_MS, so a lock left by a writer that died on another host is taken over, not waited out.
    const deadline = Date.now() + STALE_LOCK_MS + 5_000;
    for (;;) {
      try {
        const fh = await fs.open(lock, "wx");
        try {
          await fh.writeFile(JSON.stringify({ host: hostname(), pid: process.pid }));
        } finally {
          await fh.close();
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (await isAbandoned(lock)) {
          await fs.rm(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new StateConflictError(key, "another writer holds its lock");
        await sleep(5 + Math.random() * 20);
      }
    }
    try {
      return await fn();
    } finally {
      await fs.rm(lock, { force: true });
    }
  }
}
