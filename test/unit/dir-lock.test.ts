import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { lockDirectory } from "../../src/sink/dir-lock.js";

describe("directory lock", () => {
  test("release() leaves no lock file behind, even with a heartbeat write in flight", async () => {
    for (let i = 0; i < 20; i++) {
      const dir = await mkdtemp(join(tmpdir(), "dir-lock-"));
      try {
        const lock = await lockDirectory({ dir, lockFile: ".test.lock", variable: "TEST_DIR" }, { heartbeatMs: 1 });
        await new Promise((r) => setTimeout(r, 3 + (i % 5)));
        await lock.release();
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(await readdir(dir), [], `round ${i}: a heartbeat recreated the lock after release`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});
