import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { lockDirectory } from "../../src/sink/dir-lock.js";
import { eventually, never } from "../helpers/eventually.js";
import { withTempDir } from "../helpers/temp-dir.js";

describe("directory lock", () => {
  test("release() leaves no lock file behind, even with a heartbeat write in flight", async () => {
    for (let i = 0; i < 20; i++) {
      await withTempDir("dir-lock-", async (dir) => {
        const lock = await lockDirectory({ dir, lockFile: ".test.lock", variable: "TEST_DIR" }, { heartbeatMs: 1 });
        await new Promise((r) => setTimeout(r, 3 + (i % 5)));
        await lock.release();
        assert.deepEqual(await readdir(dir), [], `round ${i}: the lock is still there after release`);
        // a heartbeat scheduled before release() must not land afterwards (every 1 ms, so 20 ms is 20 chances)
        await never(async () => (await readdir(dir)).length > 0, {
          forMs: 20,
          what: `round ${i}: a heartbeat recreated the lock after release`,
        });
      });
    }
  });

  test("two locks on one directory in one process (a restarted holder with the same pid) never break each other's renames", async () => {
    await withTempDir("dir-lock-", async (dir) => {
      const target = { dir, lockFile: ".test.lock", variable: "TEST_DIR" };
      const a = await lockDirectory(target, { heartbeatMs: 1 });
      const b = await lockDirectory(target, { heartbeatMs: 1 });
      // both heartbeat every millisecond into the same lock file; each write has its own temp file
      const t0 = Date.now();
      await eventually(
        async () =>
          (JSON.parse(await readFile(join(dir, ".test.lock"), "utf8")) as { heartbeatAt: number }).heartbeatAt >
          t0 + 30,
        { what: "30 ms of heartbeats" },
      );
      await Promise.all([a.release(), b.release()]);
      assert.deepEqual(await readdir(dir), [], "no lock and no temp file left behind");
    });
  });
});
