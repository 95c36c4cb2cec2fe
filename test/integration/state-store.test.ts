import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { DirStateStore } from "../../src/state/dir-store.js";
import { S3StateStore } from "../../src/state/s3-store.js";
import { StateConflictError } from "../../src/state/store.js";
import { CorruptStateError, StreamStateDoc } from "../../src/state/stream-state.js";
import { stateStoreContract } from "../helpers/state-contract.js";

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

describe("S3 state store: a conditional write retried after it landed", () => {
  const precondition = () =>
    new S3ServiceException({
      name: "PreconditionFailed",
      $fault: "client",
      $metadata: { httpStatusCode: 412 },
      message: "At least one of the pre-conditions you specified did not hold",
    });
  const stored = (body: string) => ({ Body: { transformToString: async () => body } as never, ETag: '"v2"' });

  test("412 while the object holds exactly our body is our own earlier attempt: success, its version returned", async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves(stored('{"holder":"me"}'));
    const store = new S3StateStore(new S3Client({ region: "us-east-1" }), "bucket", "state");
    assert.equal(await store.write("lease.json", '{"holder":"me"}', { ifVersion: '"v1"' }), '"v2"');
    s3.restore();
  });

  test("412 while the object holds another writer's body is a conflict", async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).rejects(precondition());
    s3.on(GetObjectCommand).resolves(stored('{"holder":"someone else"}'));
    const store = new S3StateStore(new S3Client({ region: "us-east-1" }), "bucket", "state");
    await assert.rejects(store.write("lease.json", '{"holder":"me"}', { ifAbsent: true }), StateConflictError);
    s3.restore();
  });
});
