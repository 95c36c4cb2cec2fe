import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Envelope } from "../../src/records/envelope.js";
import { bookmarkKey } from "../../src/state/stream-state.js";
import { monthOf, monthStart } from "../../src/state/version-map.js";
import { type FakeRecord, FakeWootric } from "../helpers/fake-wootric.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { counterValue, DAY, makeHarness, T0 } from "../helpers/poller-harness.js";
import { steppingClock } from "../helpers/stepping-clock.js";

const WINDOW_STREAMS = "end_users,responses,declines";
const HOUR_MS = 3_600_000;

/** Deterministic PRNG (mulberry32). */
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

const key = (e: Envelope) => `${e.entity}:${e.id}${e.deleted ? ":deleted" : ""}`;
const keys = (list: Envelope[]) => list.map(key).sort();

describe("full reconciliation (sync --full) against the fake Wootric API", () => {
  const clock = steppingClock(T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("the issue's account: sync delivers new records, in-lookback and end-user edits; --full the rest, one tombstone per deletion, nothing unchanged", async () => {
    fake.reset();
    const r = rng(8);
    const now = () => Math.floor(clock.now() / 1000);
    const start = now() - 90 * DAY;
    const users: FakeRecord[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const created = start - 30 * DAY + Math.floor(r() * 100 * DAY);
      users.push(fake.addEndUser(created + Math.floor(r() * 5 * DAY), {}, created));
    }
    const responses: FakeRecord[] = [];
    for (let i = 0; i < 5000; i += 1) {
      const u = users[Math.floor(r() * users.length)]!;
      responses.push(fake.addResponse(start + Math.floor(r() * 90 * DAY), { end_user_id: u.id }));
    }
    for (let i = 0; i < 400; i += 1) fake.addDecline(start + Math.floor(r() * 90 * DAY));
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "7" });
    try {
      assert.equal((await h.run(WINDOW_STREAMS)).status, "ok");
      assert.equal(h.sink.written.length, 7400);

      // Days pass; the account changes the way real accounts change.
      clock.advance(3 * 24 * HOUR_MS);
      const lookbackStart = now() - 7 * DAY;
      const pick = <T>(list: T[], n: number, ok: (x: T) => boolean) => {
        const out = new Set<T>();
        while (out.size < n) {
          const x = list[Math.floor(r() * list.length)]!;
          if (ok(x)) out.add(x);
        }
        return [...out];
      };
      // 50 edits weeks after creation: 40 to responses older than the lookback, 10 to responses inside it.
      const edited = [
        ...pick(responses, 40, (x) => x.created < now() - 14 * DAY),
        ...pick(responses, 10, (x) => x.created >= lookbackStart),
      ];
      for (const [i, x] of edited.entries())
        fake.edit("responses", x.id, { tags: ["BILLING"], notes: [{ text: `note ${i}` }], score: 3 }, now() - 100 + i);
      const userEdits = pick(users, 20, () => true);
      for (const u of userEdits) fake.edit("end_users", u.id, { properties: { plan: "Enterprise" } }, now() - 50);
      const fresh: FakeRecord[] = [];
      for (let i = 0; i < 20; i += 1) fresh.push(fake.addResponse(now() - 3600 + i * 60));
      const backdated: FakeRecord[] = [];
      for (let i = 0; i < 10; i += 1) {
        const created = now() - (30 + i * 5) * DAY;
        backdated.push(fake.addResponse(created, { text: "imported" }));
        fake.edit("responses", backdated.at(-1)!.id, {}, now() - 20);
      }
      const deleted = pick(responses, 5, (x) => !edited.includes(x));
      for (const d of deleted) fake.remove("responses", d.id);
      clock.advance(60_000);

      const inLookback = edited.filter((x) => x.created >= lookbackStart);
      const oldEdits = edited.filter((x) => x.created < lookbackStart);
      assert.equal(oldEdits.length, 40);

      const sync = new MemorySink();
      assert.equal((await h.run(WINDOW_STREAMS, { kind: "sync" }, { sink: sync })).status, "ok");
      const expectSync = [
        ...fresh.map((x) => `response:${x.id}`),
        ...inLookback.map((x) => `response:${x.id}`),
        ...userEdits.map((u) => `end_user:${u.id}`),
      ].sort();
      assert.deepEqual(keys(sync.written), expectSync, "plain sync: new records, in-lookback edits, end-user edits");

      const full = new MemorySink();
      const outcome = await h.run(WINDOW_STREAMS, { kind: "reconcile" }, { sink: full });
      assert.equal(outcome.status, "ok", JSON.stringify(outcome));
      const expectFull = [
        ...oldEdits.map((x) => `response:${x.id}`),
        ...backdated.map((x) => `response:${x.id}`),
        ...deleted.map((x) => `response:${x.id}:deleted`),
      ].sort();
      assert.deepEqual(keys(full.written), expectFull, "--full: old edits, backdated imports, one tombstone each");
      for (const e of full.written.filter((x) => x.deleted)) {
        const d = deleted.find((x) => x.id === e.id)!;
        assert.equal(e.dedup_key, `response:${d.id}:deleted`);
        assert.equal(e.source, "poll");
        assert.deepEqual(e.data, { id: d.id, end_user_id: d.end_user_id });
        assert.equal(e.received_at, new Date(Date.parse(e.received_at)).toISOString());
        assert.equal(e.updated_at, e.received_at, "a tombstone is the latest version by updated_at");
      }
      const newScore = full.written.find((x) => x.id === oldEdits[0]!.id)!;
      assert.equal(newScore.data.score, 3);
      assert.deepEqual(newScore.data.tags, ["BILLING"]);
      if (outcome.status === "ok") {
        const byStream = Object.fromEntries(outcome.streams.map((s) => [s.stream, s]));
        assert.equal(byStream.responses!.tombstones, 5);
        assert.equal(byStream.responses!.records, oldEdits.length + backdated.length);
        assert.equal(byStream.end_users!.records, 0);
      }

      // Nothing changed since: neither tier writes anything, and the progress is cleared.
      const idle = new MemorySink();
      assert.equal((await h.run(WINDOW_STREAMS, { kind: "reconcile" }, { sink: idle })).status, "ok");
      assert.equal((await h.run(WINDOW_STREAMS, { kind: "sync" }, { sink: idle })).status, "ok");
      assert.deepEqual(keys(idle.written), []);
      const doc = JSON.parse((await h.store.read(bookmarkKey("responses")))!.body);
      assert.equal(doc.reconcile, undefined);
      assert.ok(doc.reconciled_at);
    } finally {
      h.cleanup();
    }
  });

  test("a month whose read fails midway gets no tombstone; the rerun resumes at that month and sends each once", async () => {
    fake.reset();
    const base = monthStart(monthOf(Math.floor(clock.now() / 1000) - 200 * DAY));
    const all: FakeRecord[] = [];
    for (let i = 0; i < 1500; i += 1) all.push(fake.addResponse(base + i * 3 * 3600));
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "0" });
    try {
      assert.equal((await h.run("responses")).status, "ok");
      // Deletions in the third month and in the fifth.
      const m3 = monthStart(monthOf(base + 70 * DAY));
      const m5 = monthStart(monthOf(base + 130 * DAY));
      const gone = [
        ...all.filter((x) => x.created >= m3 + 5 * DAY).slice(0, 3),
        ...all.filter((x) => x.created >= m5 + 5 * DAY).slice(0, 2),
      ];
      for (const g of gone) fake.remove("responses", g.id);
      // The read fails (a 400 the client does not retry) once it is half-way through the third month.
      let armed = true;
      fake.beforeList = (_path, q) => {
        if (armed && Number(q.get("created[gte]")) > m3 + 10 * DAY) {
          armed = false;
          fake.failNext(1, 400);
        }
      };
      const broken = new MemorySink();
      const first = await h.run("responses", { kind: "reconcile" }, { sink: broken, checkpointEveryMs: 0 });
      assert.equal(first.status, "failed");
      assert.equal(broken.written.filter((e) => e.deleted).length, 0, "no tombstone from a month not read to its end");
      const progress = JSON.parse((await h.store.read(bookmarkKey("responses")))!.body).reconcile;
      assert.equal(progress.through, m3, "progress stops at the first unsettled month");

      fake.beforeList = undefined;
      const logFrom = fake.log.length;
      const rerun = new MemorySink();
      assert.equal((await h.run("responses", { kind: "reconcile" }, { sink: rerun })).status, "ok");
      const firstQuery = fake.log.slice(logFrom).find((x) => x.path === "/v1/responses")!;
      assert.equal(Number(firstQuery.query.get("created[gte]")), m3, "resumed at the unsettled month");
      assert.deepEqual(keys(rerun.written), gone.map((g) => `response:${g.id}:deleted`).sort());
      assert.equal(rerun.written.filter((e) => !e.deleted).length, 0, "no unchanged record re-sent");
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });

  test("SYNC_START_DATE: months before it are neither read nor settled, even after an interrupted run", async () => {
    fake.reset();
    const base = monthStart(monthOf(Math.floor(clock.now() / 1000) - 200 * DAY));
    for (let i = 0; i < 600; i += 1) fake.addResponse(base + i * 8 * 3600);
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "0" });
    try {
      assert.equal((await h.run("responses")).status, "ok");
      // A reconciliation that fails on its first request leaves progress at the first month.
      fake.failNext(1, 400);
      assert.equal((await h.run("responses", { kind: "reconcile" })).status, "failed");
      const later = monthStart(monthOf(base + 100 * DAY));
      const withStart = makeHarness(
        fake,
        clock,
        { LOOKBACK_DAYS: "0", SYNC_START_DATE: new Date(later * 1000).toISOString().slice(0, 10) },
        h.store,
      );
      const logFrom = fake.log.length;
      const sink = new MemorySink();
      assert.equal((await withStart.run("responses", { kind: "reconcile" }, { sink })).status, "ok");
      assert.deepEqual(sink.written, [], "no tombstone for the months before SYNC_START_DATE");
      const firstQuery = fake.log.slice(logFrom).find((x) => x.path === "/v1/responses")!;
      assert.equal(Number(firstQuery.query.get("created[gte]")), later);
      withStart.cleanup();
    } finally {
      h.cleanup();
    }
  });

  test("the reconciliation holds the poller lease: a sync started meanwhile skips, and runs once it is released", async () => {
    fake.reset();
    for (let i = 0; i < 200; i += 1) fake.addResponse(Math.floor(clock.now() / 1000) - 40 * DAY + i * 3600);
    const h = makeHarness(fake, clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let blocked = false;
    fake.beforeList = async () => {
      if (!blocked) {
        blocked = true;
        await gate;
      }
    };
    try {
      const full = h.run("responses", { kind: "reconcile" });
      for (const deadline = Date.now() + 10_000; !blocked; ) {
        if (Date.now() > deadline) throw new Error("the reconciliation never reached the API");
        await new Promise((r) => setTimeout(r, 5));
      }
      const other = makeHarness(fake, clock, {}, h.store);
      const sync = await other.run("responses");
      assert.equal(sync.status, "lease_held");
      if (sync.status === "lease_held") assert.match(sync.holder, /full reconciliation/);
      release();
      assert.equal((await full).status, "ok");
      assert.equal(h.sink.ids("response").size, 200);
      fake.beforeList = undefined;
      assert.equal((await other.run("responses")).status, "ok");
      assert.equal(other.sink.written.length, 0, "the sync after it finds everything delivered");
      other.cleanup();
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });

  test("a finished full reconcile refreshes poll_last_success_age_seconds like a sync (the poller-stale alarms read it)", async () => {
    fake.reset();
    fake.segments = [{ name: "plan", data_type: "string", created: T0 / 1000 - 90 * DAY }];
    fake.surveyTemplates = [{ id: 11, name: "NPS" }];
    const h = makeHarness(fake, clock);
    const age = (stream: string) => counterValue(h.metrics, "poll_last_success_age_seconds", { stream });
    try {
      assert.equal((await h.run("segments,survey_templates")).status, "ok");
      clock.advance(5 * HOUR_MS); // a long nightly reconcile held the lease: no sync finished meanwhile
      assert.ok((await age("segments")) >= 5 * 3600);
      assert.equal((await h.run("segments,survey_templates", { kind: "reconcile" })).status, "ok");
      for (const stream of ["segments", "survey_templates"]) assert.ok((await age(stream)) < 3600, stream);
    } finally {
      h.cleanup();
    }
  });

  test("snapshot streams: a segment that disappears gets one tombstone, in sync and --full alike", async () => {
    fake.reset();
    fake.segments = [
      { name: "plan", data_type: "string", created: T0 / 1000 - 90 * DAY },
      { name: "seats_amount", data_type: "integer", created: T0 / 1000 - 80 * DAY },
    ];
    fake.surveyTemplates = [{ id: 11, name: "NPS" }];
    const h = makeHarness(fake, clock);
    try {
      assert.equal((await h.run("segments,survey_templates")).status, "ok");
      fake.segments = fake.segments.slice(0, 1);
      fake.surveyTemplates = [];
      const full = new MemorySink();
      assert.equal((await h.run("segments,survey_templates", { kind: "reconcile" }, { sink: full })).status, "ok");
      assert.deepEqual(keys(full.written), ["segment:seats_amount:deleted", "survey_template:11:deleted"]);
      assert.equal(full.written.find((e) => e.entity === "survey_template")!.id, 11);
      const again = new MemorySink();
      assert.equal((await h.run("segments,survey_templates", { kind: "sync" }, { sink: again })).status, "ok");
      assert.deepEqual(again.written, []);
    } finally {
      h.cleanup();
    }
  });
});
