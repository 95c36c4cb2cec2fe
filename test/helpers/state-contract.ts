import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { Lease, LeaseHeldError, LeaseLostError } from "../../src/state/lease.js";
import { StateConflictError, type StateStore } from "../../src/state/store.js";

/** The compare-and-swap contract every state store must keep; run against the directory store here, S3 (moto) elsewhere. */
export function stateStoreContract(
  name: string,
  open: () => Promise<StateStore>,
  opts: { /** Why the store cannot run here: every contract test is reported skipped with it. */ skip?: string } = {},
): void {
  const { skip } = opts;
  describe(`${name}: compare-and-swap`, () => {
    test("create only if absent; replace only at the version read", { skip }, async () => {
      const store = await open();
      const v1 = await store.write("bookmarks/a.json", '{"n":1}', { ifAbsent: true });
      await assert.rejects(store.write("bookmarks/a.json", '{"n":9}', { ifAbsent: true }), StateConflictError);
      const v2 = await store.write("bookmarks/a.json", '{"n":2}', { ifVersion: v1 });
      await assert.rejects(
        store.write("bookmarks/a.json", '{"n":3}', { ifVersion: v1 }),
        StateConflictError,
        "a stale writer is rejected",
      );
      const doc = await store.read("bookmarks/a.json");
      assert.deepEqual(doc, { body: '{"n":2}', version: v2 });
      assert.equal(await store.read("bookmarks/missing.json"), undefined);
    });

    test("of many concurrent writers holding the same version, exactly one wins", { skip }, async () => {
      const store = await open();
      const v = await store.write("bookmarks/race.json", "0", { ifAbsent: true });
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.write("bookmarks/race.json", String(i + 1), { ifVersion: v })),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const r of results)
        if (r.status === "rejected") assert.ok(r.reason instanceof StateConflictError, String(r.reason));
      const creators = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.write("bookmarks/new.json", String(i), { ifAbsent: true })),
      );
      assert.equal(creators.filter((r) => r.status === "fulfilled").length, 1);
    });

    test("leases: one holder at a time, renewal detects a takeover, release lets the next in", { skip }, async () => {
      const store = await open();
      const clock = scaledClock(1);
      const a = await Lease.acquire(store, { ttlMs: 60_000, clock, purpose: "sync" });
      await assert.rejects(Lease.acquire(store, { ttlMs: 60_000, clock, purpose: "sync" }), LeaseHeldError);
      await a.renew();
      await a.release();
      const b = await Lease.acquire(store, { ttlMs: 60_000, clock, purpose: "sync" });
      await assert.rejects(a.renew(), LeaseLostError);
      b.assertHeld();
      await b.release();
    });
  });
}
