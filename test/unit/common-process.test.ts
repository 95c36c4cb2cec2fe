import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { isProcessAlive } from "../../src/common/process.js";

describe("common/process", () => {
  test("this process is alive; a child that has exited and been reaped is not", async () => {
    assert.equal(isProcessAlive(process.pid), true);
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid!;
    await once(child, "exit");
    assert.equal(isProcessAlive(pid), false);
  });

  test("numbers that are not a single process id are never alive (0 and negatives address process groups)", () => {
    for (const pid of [0, -1, -process.pid, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(isProcessAlive(pid), false, String(pid));
    }
  });
});
