import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fullJitterDelay, jittered } from "../../src/common/backoff.js";

describe("common/backoff", () => {
  test("full jitter stays within [0, min(cap, base × 2^retry))", () => {
    for (let retry = 0; retry < 40; retry++) {
      const ceiling = Math.min(20_000, 100 * 2 ** retry);
      assert.equal(
        fullJitterDelay(retry, 100, 20_000, () => 0),
        0,
      );
      const top = fullJitterDelay(retry, 100, 20_000, () => 0.9999999);
      assert.ok(top < ceiling && top >= ceiling - 1, `retry ${retry}: ${top} vs ${ceiling}`);
    }
    for (let i = 0; i < 1000; i++) {
      const d = fullJitterDelay(5, 100, 20_000);
      assert.ok(d >= 0 && d < 3200);
    }
  });

  test("the first retry waits up to the base; negative and huge retry counts stay bounded", () => {
    assert.equal(
      fullJitterDelay(0, 500, 30_000, () => 0.5),
      250,
    );
    assert.equal(
      fullJitterDelay(-3, 500, 30_000, () => 0.5),
      250,
    );
    assert.equal(
      fullJitterDelay(10_000, 500, 30_000, () => 0.5),
      15_000,
    );
  });

  test("a period is jittered ±50 %", () => {
    assert.equal(
      jittered(1000, () => 0),
      500,
    );
    assert.equal(
      jittered(1000, () => 0.999),
      1499,
    );
  });
});
