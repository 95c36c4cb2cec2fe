import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { stateStoreContract } from "../helpers/state-contract.js";
import { DirStateStore } from "../../src/state/dir-store.js";
import { StateConflictError } from "../../src/state/store.js";
import { CorruptStateError, StreamStateDoc } from "../../src/state/stream-state.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), "wf-state-"));
  dirs.push(d);
  return d;
};

stateStoreContract("directory store", async () => new DirStateStore(tempDir()));

describe("stream state documents", () => {
  test("saved with compare-and-swap: two loaders of the same version cannot both save", async () => {
    const store = new DirStateStore(tempDir());
    const a = await StreamStateDoc.load(store, "bookmarks/responses.json", "responses");
    a.state.cursor = 100;
    await a.save(new Date());
    const b = await StreamStateDoc.load(store, "bookmarks/responses.json", "responses");
    const c = await StreamStateDoc.load(store, "bookmarks/responses.json", "responses");
    b.state.cursor = 200;
    await b.save(new Date());
    c.state.cursor = 150;
    await assert.rejects(c.save(new Date()), StateConflictError);
    const again = await StreamStateDoc.load(store, "bookmarks/responses.json", "responses");
    assert.equal(again.state.cursor, 200);
  });

  test("a corrupt document is reported, not silently reset to the start", async () => {
    const dir = tempDir();
    const store = new DirStateStore(dir);
    await store.write("bookmarks/x.json", "{}", { ifAbsent: true });
    writeFileSync(path.join(dir, "bookmarks", "x.json"), "{not json");
    await assert.rejects(StreamStateDoc.load(store, "bookmarks/x.json", "x"), CorruptStateError);
  });

  test("keys cannot escape the state directory", async () => {
    const store = new DirStateStore(tempDir());
    await assert.rejects(store.write("../evil.json", "{}", { ifAbsent: true }), /invalid state key/);
  });
});
