import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IntervalSet } from "../../src/sink/spool/interval-set.js";

describe("IntervalSet", () => {
  test("merges adjacent ranges in any order and refuses overlaps", () => {
    const s = new IntervalSet();
    assert.equal(s.add(20, 30), true);
    assert.equal(s.add(0, 10), true);
    assert.equal(s.add(10, 20), true);
    assert.deepEqual(s.entries(), [[0, 30]]);
    assert.equal(s.add(5, 6), false);
    assert.equal(s.add(29, 31), false);
    assert.equal(s.covers(0, 30), true);
    assert.equal(s.covers(0, 31), false);
    assert.equal(s.add(40, 50), true);
    assert.equal(s.firstGap(0), 30);
    assert.equal(s.firstGap(35), 35);
    assert.equal(s.covers(30, 40), false);
  });
});
