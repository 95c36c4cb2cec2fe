import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { DirStateStore } from "../../src/state/dir-store.js";
import { StateConflictError } from "../../src/state/store.js";
import { CorruptStateError } from "../../src/state/stream-state.js";
import {
  decodeShard,
  encodeShard,
  monthEnd,
  monthOf,
  monthStart,
  packEntries,
  shardKey,
  unpackEntries,
  type VersionEntry,
  VersionShards,
} from "../../src/state/version-map.js";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("version map shards", () => {
  test("pack/unpack round-trips hostile values: ids up to 2^53, negative hash versions, zero parents", () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const r = rng(seed);
      const entries = new Map<number, VersionEntry>();
      const n = Math.floor(r() * 500);
      for (let i = 0; i < n; i += 1) {
        const id = r() < 0.1 ? Math.floor(r() * Number.MAX_SAFE_INTEGER) : Math.floor(r() * 1e9);
        const version = r() < 0.2 ? -Math.floor(r() * 2 ** 31) - 1 : Math.floor(r() * 2 ** 32);
        entries.set(id, { version, parent: r() < 0.3 ? 0 : Math.floor(r() * 2 ** 40) });
      }
      assert.deepEqual(unpackEntries(packEntries(entries)), entries);
      assert.deepEqual(decodeShard("k.json", encodeShard("responses", "2026-01", entries)), entries);
    }
  });

  test("a realistic month (sequential ids, versions near created, 2,000 end users) stores in under 16 bytes a record", () => {
    const r = rng(7);
    const entries = new Map<number, VersionEntry>();
    let id = 400_000_000;
    let created = Date.UTC(2026, 0, 1) / 1000;
    for (let i = 0; i < 30_000; i += 1) {
      id += 1 + Math.floor(r() * 40);
      created += Math.floor(r() * 170);
      const edited = r() < 0.05;
      entries.set(id, {
        version: edited ? created + Math.floor(r() * 60 * 86_400) : created,
        parent: 480_000_000 + Math.floor(r() * 2000) * 97,
      });
    }
    const bytes = Buffer.byteLength(encodeShard("responses", "2026-01", entries));
    assert.ok(bytes / entries.size <= 16, `${(bytes / entries.size).toFixed(2)} bytes a record`);
  });

  test("a damaged shard is a CorruptStateError naming it, never silently empty", () => {
    const good = JSON.parse(encodeShard("responses", "2026-01", new Map([[5, { version: 9, parent: 1 }]])));
    for (const bad of [
      "not json",
      JSON.stringify({ ...good, encoding: "other" }),
      JSON.stringify({ ...good, records: 2 }),
      JSON.stringify({ ...good, data: Buffer.from([0x80]).toString("base64"), gzip: false }),
    ]) {
      assert.throws(() => decodeShard("versions/responses/2026-01.json", bad), CorruptStateError);
    }
  });

  test("months are UTC calendar months", () => {
    assert.equal(monthOf(Date.UTC(2026, 1, 28, 23, 59, 59) / 1000), "2026-02");
    assert.equal(monthStart("2026-02"), Date.UTC(2026, 1, 1) / 1000);
    assert.equal(monthEnd("2026-12"), Date.UTC(2027, 0, 1) / 1000);
  });

  test("shards are written with compare-and-swap: a second writer holding an old version loses", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "wf-vmap-"));
    try {
      const store = new DirStateStore(dir);
      const a = new VersionShards(store, "responses");
      const b = new VersionShards(store, "responses");
      (await a.get("2026-03")).entries.set(1, { version: 10, parent: 0 });
      (await a.get("2026-03")).dirty = true;
      const sb = await b.get("2026-03"); // read before a writes: absent
      await a.flush();
      sb.entries.set(2, { version: 11, parent: 0 });
      sb.dirty = true;
      await assert.rejects(b.flush(), StateConflictError);
      const stored = await store.read(shardKey("responses", "2026-03"));
      assert.deepEqual([...decodeShard("k", stored!.body).keys()], [1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
