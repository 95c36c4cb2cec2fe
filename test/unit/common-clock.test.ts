import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scaledClock, sleep, sleepUnlessAborted, systemClock } from "../../src/common/clock.js";

describe("common/clock", () => {
  test("sleep resolves after the time; an abort rejects it at once with the signal's reason", async () => {
    await sleep(1);
    await sleep(-5);
    const ctrl = new AbortController();
    const long = sleep(3_600_000, ctrl.signal);
    const reason = new Error("stop");
    ctrl.abort(reason);
    await assert.rejects(long, (err) => err === reason);
  });

  test("an already-aborted signal rejects even a zero sleep", async () => {
    const reason = new Error("already");
    await assert.rejects(sleep(0, AbortSignal.abort(reason)), (err) => err === reason);
    await assert.rejects(systemClock.sleep(0, AbortSignal.abort(reason)), (err) => err === reason);
  });

  test("sleepUnlessAborted: true when the time passed, false when aborted (never rejects)", async () => {
    assert.equal(await sleepUnlessAborted(1), true);
    assert.equal(await sleepUnlessAborted(10, AbortSignal.abort()), false);
    const ctrl = new AbortController();
    const long = sleepUnlessAborted(3_600_000, ctrl.signal);
    ctrl.abort();
    assert.equal(await long, false);
  });

  test("an aborted sleep leaves no listener behind on a long-lived signal", async () => {
    const ctrl = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ctrl.signal.addEventListener.bind(ctrl.signal);
    const remove = ctrl.signal.removeEventListener.bind(ctrl.signal);
    ctrl.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    ctrl.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 5; i++) await sleep(0, ctrl.signal);
    assert.equal(added, 5);
    assert.equal(removed, 5);
  });

  test("scaledClock starts where told and its sleeps last clock time, not wall time", async () => {
    const T0 = Date.parse("2024-01-01T00:00:00Z");
    const clock = scaledClock(1000, T0);
    const before = clock.now();
    assert.ok(before >= T0 && before < T0 + 60_000);
    await clock.sleep(5_000); // 5 ms of wall time
    // Timers may fire up to a millisecond early: allow one wall millisecond (1,000 clock ms).
    assert.ok(clock.now() - before >= 4_000, `${clock.now() - before}`);
  });
});
