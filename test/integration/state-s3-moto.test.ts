import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { scaledClock } from "../../src/common/clock.js";
import { loadConfig } from "../../src/config/index.js";
import { checkStateStore } from "../../src/state/doctor-check.js";
import { S3StateStore } from "../../src/state/s3-store.js";
import { StateConflictError } from "../../src/state/store.js";
import { decodeShard, monthOf, VersionShards } from "../../src/state/version-map.js";
import { FakeWootric } from "../helpers/fake-wootric.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { type Moto, motoMissingReason, startMoto } from "../helpers/moto.js";
import { DAY, makeHarness, T0, T0S } from "../helpers/poller-harness.js";
import { stateStoreContract } from "../helpers/state-contract.js";

const skip = motoMissingReason();

describe("S3 state store against moto", () => {
  let moto: Moto;
  let s3: S3Client;
  let n = 0;
  before(async () => {
    if (skip) return;
    moto = await startMoto();
    s3 = new S3Client({
      region: "us-east-1",
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
  });
  after(async () => {
    if (skip) return;
    s3?.destroy();
    await moto?.stop();
  });

  const freshStore = async () => {
    const bucket = `wf-state-${Date.now()}-${(n += 1)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return new S3StateStore(s3, bucket, "poller/state");
  };

  test("moto honours If-None-Match and If-Match on PutObject", { skip }, async () => {
    const store = await freshStore();
    await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: "x", Body: "1", IfNoneMatch: "*" }));
    await assert.rejects(
      s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: "x", Body: "2", IfNoneMatch: "*" })),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 412,
    );
    await assert.rejects(
      s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: "x", Body: "2", IfMatch: '"not-the-etag"' })),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 412,
    );
  });

  describe("contract", () => {
    stateStoreContract("S3 store (moto)", freshStore, { skip });
  });

  test("doctor checks an s3:// STATE_URL through the standard AWS environment", { skip }, async () => {
    const store = await freshStore();
    const fake = await new FakeWootric().start();
    const saved = { ...process.env };
    try {
      Object.assign(process.env, moto.env);
      const state = await checkStateStore(loadConfig({ ...fake.env(), STATE_URL: `s3://${store.bucket}/state` }));
      assert.equal(state.ok, true, state.detail);
      assert.match(state.detail, /^s3:\/\//);
      const missing = await checkStateStore(loadConfig({ ...fake.env(), STATE_URL: "s3://no-such-bucket-wf/state" }));
      assert.equal(missing.ok, false);
    } finally {
      process.env = saved;
      await fake.stop();
    }
  });

  test("a full sync keeps its bookmarks and lease in S3", { skip }, async () => {
    const store = await freshStore();
    const clock = scaledClock(1, T0);
    const fake = await new FakeWootric({ clock }).start();
    try {
      for (let i = 0; i < 300; i += 1) fake.addResponse(T0S - 3 * DAY + i * 300);
      const h = makeHarness(fake, clock, {}, store);
      const r = await h.run("responses,segments");
      assert.equal(r.status, "ok");
      assert.equal(h.sink.ids("response").size, 300);
      const bookmark = await store.read("bookmarks/responses.json");
      assert.ok(bookmark && JSON.parse(bookmark.body).cursor > T0S - 60);
      assert.ok(await store.read("lease.json"));
      // A second replica sees the bookmark and has nothing to do.
      const h2 = makeHarness(fake, clock, {}, store);
      assert.equal((await h2.run("responses")).status, "ok");
      assert.equal(h2.sink.written.length, 0);
      h.cleanup();
      h2.cleanup();
    } finally {
      await fake.stop();
    }
  });

  test("version shards live in S3 beside the bookmarks, one object per month, written with conditional puts", async () => {
    const store = await freshStore();
    const clock = scaledClock(1, T0);
    const fake = await new FakeWootric({ clock }).start();
    try {
      const recs = [];
      for (let i = 0; i < 400; i += 1) recs.push(fake.addResponse(T0S - 100 * DAY + i * 6 * 3600));
      const h = makeHarness(fake, clock, {}, store);
      assert.equal((await h.run("responses")).status, "ok");
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: store.bucket, Prefix: "poller/state/versions/" }),
      );
      const months = [...new Set(recs.map((r) => monthOf(r.created)))].sort();
      assert.deepEqual(
        (listed.Contents ?? []).map((o) => o.Key).sort(),
        months.map((m) => `poller/state/versions/responses/${m}.json`),
      );
      const bookmark = JSON.parse((await store.read("bookmarks/responses.json"))!.body);
      assert.deepEqual(bookmark.shards, months, "the stream document lists every shard");
      let total = 0;
      for (const m of months) {
        const doc = (await store.read(`versions/responses/${m}.json`))!;
        total += decodeShard(m, doc.body).size;
      }
      assert.equal(total, 400);

      // A deletion found by a full reconciliation rewrites one month's shard; a stale writer of it is refused (412).
      const stale = new VersionShards(store, "responses");
      const victim = recs[150]!;
      await stale.get(monthOf(victim.created));
      fake.remove("responses", victim.id);
      const full = new MemorySink();
      assert.equal((await h.run("responses", { kind: "reconcile" }, { sink: full })).status, "ok");
      assert.deepEqual(
        full.written.map((e) => e.dedup_key),
        [`response:${victim.id}:deleted`],
      );
      const shard = await stale.get(monthOf(victim.created));
      shard.entries.set(1, { version: 1, parent: 0 });
      shard.dirty = true;
      await assert.rejects(stale.flush(), StateConflictError);
      h.cleanup();
    } finally {
      await fake.stop();
    }
  });
});
