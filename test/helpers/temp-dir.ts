import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Something with an `after` hook: a test's context (`t`), or a suite's `after` wrapped as `{ after }`. */
interface HasAfter {
  after(fn: () => Promise<void> | void): void;
}

/** A fresh directory under the OS temp dir, removed (with everything in it) when `owner` finishes. */
export async function tempDir(owner: HasAfter, prefix = "wf-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  owner.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `fn` with a fresh temp directory and removes it afterwards, whatever `fn` did. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
