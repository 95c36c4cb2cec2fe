import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { toEpochSeconds } from "../../src/records/time.js";
import { LEASE_KEY } from "../../src/state/lease.js";
import { bookmarkKey } from "../../src/state/stream-state.js";
import { eventually } from "../helpers/eventually.js";
import { FakeWootric } from "../helpers/fake-wootric.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { DAY, makeHarness, T0, T0S } from "../helpers/poller-harness.js";

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("bookmarks, crashes and the lease", () => {
  const clock = scaledClock(1, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("a sync that dies part-way resumes from its bookmark with nothing lost", async () => {
    fake.reset();
    for (let i = 0; i < 1000; i += 1) fake.addResponse(T0S - 20 * DAY + i * 1500 + (i % 3));
    for (let i = 0; i < 90; i += 1) fake.addResponse(T0S - 10 * DAY); // a crowded second mid-way
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "0" });
    try {
      const crashing = new MemorySink();
      crashing.failAfterWrites = 7;
      const first = await h.run("responses", { kind: "sync" }, { sink: crashing, checkpointEveryMs: 0 });
      assert.equal(first.status, "failed");
      const saved = JSON.parse((await h.store.read(bookmarkKey("responses")))!.body) as { cursor: number };
      // The bookmark never passes a record that is not durable.
      const durable = crashing.ids("response");
      for (const rec of fake.lists.responses.values()) {
        if (rec.created < saved.cursor)
          assert.ok(durable.has(String(rec.id)), `record ${rec.id} before the bookmark was not written`);
      }
      assert.ok(saved.cursor > T0S - 20 * DAY, "the bookmark moved");

      const requestsBefore = fake.log.length;
      const second = await h.run("responses");
      assert.equal(second.status, "ok");
      const firstQuery = fake.log.slice(requestsBefore).find((r) => r.path === "/v1/responses")!;
      assert.equal(
        Number(firstQuery.query.get("created[gte]")),
        saved.cursor,
        "resumed from the bookmark, not from the start",
      );
      const all = new Set([...durable, ...h.sink.ids("response")]);
      assert.equal(all.size, 1090, "nothing lost across the crash");
      for (const e of h.sink.byEntity("response")) {
        assert.ok(
          toEpochSeconds(e.data.created_at)! >= saved.cursor,
          "the resumed run did not re-read before the bookmark",
        );
      }
    } finally {
      h.cleanup();
    }
  });

  test("two pollers on one state store: only one works, the other skips", async () => {
    fake.reset();
    for (let i = 0; i < 200; i += 1) fake.addResponse(T0S - 2 * DAY + i * 60);
    const a = makeHarness(fake, clock);
    const b = makeHarness(fake, clock, {}, a.store);
    const g = gate();
    let blocked = false;
    fake.beforeList = async () => {
      if (!blocked) {
        blocked = true;
        await g.wait;
      }
    };
    try {
      const runA = a.run("responses");
      await eventually(() => blocked, { intervalMs: 5, what: "poller A to reach the API" });
      const outcomeB = await b.run("responses");
      assert.equal(outcomeB.status, "lease_held");
      assert.equal(b.sink.written.length, 0);
      g.open();
      const outcomeA = await runA;
      assert.equal(outcomeA.status, "ok");
      assert.equal(a.sink.ids("response").size, 200);
      // Released at the end: the other replica can poll now.
      fake.beforeList = undefined;
      assert.equal((await b.run("responses")).status, "ok");
    } finally {
      fake.beforeList = undefined;
      a.cleanup();
      b.cleanup();
    }
  });

  test("a lease left by a dead holder is taken over once it expires, not before", async () => {
    fake.reset();
    fake.addResponse(T0S - DAY);
    const h = makeHarness(fake, clock);
    try {
      const dead = {
        holder: "dead-replica",
        host: "gone",
        pid: 1,
        purpose: "sync",
        acquired_at: new Date(T0 - 3_600_000).toISOString(),
      };
      await h.store.write(
        LEASE_KEY,
        JSON.stringify({ ...dead, expires_at: new Date(clock.now() + 30_000).toISOString() }),
        { ifAbsent: true },
      );
      assert.equal((await h.run("responses")).status, "lease_held");
      const cur = (await h.store.read(LEASE_KEY))!;
      await h.store.write(
        LEASE_KEY,
        JSON.stringify({ ...dead, expires_at: new Date(clock.now() - 1000).toISOString() }),
        { ifVersion: cur.version },
      );
      assert.equal((await h.run("responses")).status, "ok");
      assert.equal(h.sink.ids("response").size, 1);
    } finally {
      h.cleanup();
    }
  });

  test("backfill re-reads a range, resumes after a failure, and leaves the normal bookmark alone", async () => {
    fake.reset();
    for (let i = 0; i < 300; i += 1) fake.addResponse(T0S - 30 * DAY + i * 3 * 3600);
    const h = makeHarness(fake, clock);
    try {
      assert.equal((await h.run("responses")).status, "ok");
      const normal = (await h.store.read(bookmarkKey("responses")))!.body;
      const since = new Date((T0S - 20 * DAY) * 1000).toISOString().slice(0, 10);
      const until = new Date((T0S - 10 * DAY) * 1000).toISOString().slice(0, 10);
      const expected = [...fake.lists.responses.values()].filter(
        (r) =>
          r.created >= Date.parse(`${since}T00:00:00Z`) / 1000 && r.created < Date.parse(`${until}T00:00:00Z`) / 1000,
      );
      const failing = new MemorySink();
      failing.failAfterWrites = 0;
      const broken = await h.run("responses", { kind: "backfill", since, until }, { sink: failing });
      assert.equal(broken.status, "failed");
      const sink = new MemorySink();
      const r = await h.run("responses", { kind: "backfill", since, until }, { sink });
      assert.equal(r.status, "ok");
      assert.deepEqual([...sink.ids("response")].sort(), expected.map((e) => String(e.id)).sort());
      assert.equal(JSON.parse((await h.store.read(bookmarkKey("responses")))!.body).cursor, JSON.parse(normal).cursor);
      assert.ok(await h.store.read(`backfill/responses/${since}_${until}.json`));
    } finally {
      h.cleanup();
    }
  });
});

describe("lease loss mid-run", () => {
  // 20x clock: a 10 s lease TTL renews every 167 ms of wall time.
  const clock = scaledClock(20, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("a replica whose lease was taken over stops before writing another bookmark", async () => {
    for (let i = 0; i < 300; i += 1) fake.addResponse(T0S - 2 * DAY + i * 60);
    const h = makeHarness(fake, clock, { LEASE_TTL_SECONDS: "10" });
    const g = gate();
    let calls = 0;
    fake.beforeList = async () => {
      calls += 1;
      if (calls === 2) await g.wait;
    };
    try {
      const run = h.run("responses", { kind: "sync" }, { checkpointEveryMs: 0 });
      await eventually(() => calls >= 2, { intervalMs: 5, what: "the run's second request" }).catch(async (err) => {
        throw new Error(`${(err as Error).message}; the run: ${JSON.stringify(await Promise.race([run, "pending"]))}`);
      });
      const bookmarkBefore = (await h.store.read(bookmarkKey("responses")))!.body;
      // Another replica takes the lease over (as if ours had expired). Our renewals run every 33 ms of wall time, so
      // the takeover may lose a race: retry it the way a real replica would on its next attempt.
      for (let attempt = 0; ; attempt += 1) {
        const cur = (await h.store.read(LEASE_KEY))!;
        try {
          await h.store.write(
            LEASE_KEY,
            JSON.stringify({
              holder: "other",
              acquired_at: new Date(clock.now()).toISOString(),
              expires_at: new Date(clock.now() + 600_000).toISOString(),
            }),
            { ifVersion: cur.version },
          );
          break;
        } catch (err) {
          if (attempt > 20) throw err;
        }
      }
      await new Promise((r) => setTimeout(r, 400));
      g.open();
      const outcome = await run;
      assert.equal(outcome.status, "failed");
      if (outcome.status === "failed") assert.match(outcome.errors[0]!.error, /LeaseLost|Abort|lease/i);
      assert.equal(
        (await h.store.read(bookmarkKey("responses")))!.body,
        bookmarkBefore,
        "no bookmark written after the lease was lost",
      );
      assert.equal(
        JSON.parse((await h.store.read(LEASE_KEY))!.body).holder,
        "other",
        "the other replica's lease is untouched",
      );
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });
});
