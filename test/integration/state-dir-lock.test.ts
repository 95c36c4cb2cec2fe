import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { DirStateStore } from "../../src/state/dir-store.js";
import { StateConflictError } from "../../src/state/store.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The pid of a process that has exited and been reaped: certainly not alive. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

describe("directory state store: the per-key write lock", () => {
  test("a lock left by a killed writer of this host is taken over at once, not waited out", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "wf-dirlock-"));
    dirs.push(root);
    const store = new DirStateStore(root);
    const key = "bookmarks/responses.json";
    const v1 = await store.write(key, '{"cursor":1}', { ifAbsent: true });
    const lock = `${path.join(root, key)}.lock`;
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: await deadPid() }));

    const started = Date.now();
    const v2 = await store.write(key, '{"cursor":2}', { ifVersion: v1 });
    // Before the fix the waiter gave up after 5 s with "another writer holds its lock" (the lock was fresh).
    assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
    assert.equal((await store.read(key))?.version, v2);
    assert.equal(existsSync(lock), false, "the lock is released");
  });

  test("a lock held by a live process still excludes other writers", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "wf-dirlock-"));
    dirs.push(root);
    const store = new DirStateStore(root);
    const key = "lease.json";
    const v1 = await store.write(key, "{}", { ifAbsent: true });
    const lock = `${path.join(root, key)}.lock`;
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: process.pid }));
    const write = store.write(key, '{"a":1}', { ifVersion: v1 });
    // The live holder releases its lock after a while; the waiter then writes.
    setTimeout(() => rmSync(lock, { force: true }), 300).unref();
    const v2 = await write;
    assert.notEqual(v2, v1);
    await assert.rejects(store.write(key, "{}", { ifVersion: v1 }), StateConflictError);
  });
});
