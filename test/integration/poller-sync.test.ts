import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { FakeWootric } from "../helpers/fake-wootric.js";
import { counterValue, DAY, makeHarness, T0, T0S } from "../helpers/poller-harness.js";

/** Fills the fake with a busy day: 1,600 responses in one day, 120 of them in one second, plus history. */
function seedBusyAccount(fake: FakeWootric): { busyDay: number; tieSecond: number } {
  const busyDay = T0S - 3 * DAY - 12 * 3600;
  const tieSecond = busyDay + 4 * 3600;
  for (let i = 0; i < 1480; i += 1) fake.addResponse(busyDay + Math.floor((i * 86_000) / 1480));
  for (let i = 0; i < 120; i += 1) fake.addResponse(tieSecond, { text: `tie ${i}` });
  // Older history, sparse, over two years.
  for (let i = 0; i < 300; i += 1) fake.addResponse(T0S - 400 * DAY + i * DAY + (i % 5));
  for (let i = 0; i < 200; i += 1) fake.addDecline(T0S - 20 * DAY + i * 3600);
  for (let i = 0; i < 60; i += 1) fake.addDecline(tieSecond);
  for (let i = 0; i < 400; i += 1) fake.addEndUser(T0S - 30 * DAY + i * 600, {}, T0S - 400 * DAY);
  for (let i = 0; i < 75; i += 1) fake.addEndUser(tieSecond + 7);
  fake.segments = [
    { name: "plan", data_type: "string", created: T0S - 90 * DAY },
    { name: "seats_amount", data_type: "integer", created: T0S - 80 * DAY },
  ];
  fake.surveyTemplates = [
    {
      id: 11,
      name: "Default NPS",
      default_language: "en",
      languages: [{ code: "en", name: "English" }],
      non_configured_language_count: 0,
      custom_samplings: [],
    },
  ];
  return { busyDay, tieSecond };
}

describe("poller sync against the fake Wootric API", () => {
  const clock = scaledClock(1, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("first sync reads every record, including 1,600 responses in one day and 120 in one second", async () => {
    fake.reset();
    seedBusyAccount(fake);
    const h = makeHarness(fake, clock);
    try {
      const outcome = await h.run();
      assert.equal(outcome.status, "ok", JSON.stringify(outcome));
      for (const [entity, list] of [
        ["response", "responses"],
        ["decline", "declines"],
        ["end_user", "end_users"],
      ] as const) {
        const want = new Set([...fake.lists[list].keys()].map(String));
        const got = h.sink.ids(entity);
        assert.equal(got.size, want.size, `${entity}: every record, no more`);
        for (const id of want) assert.ok(got.has(id), `${entity} ${id} missing`);
        // Each record written once: the seek re-reads the last second of a page but never re-emits it.
        assert.equal(h.sink.byEntity(entity).length, want.size, `${entity} written exactly once each`);
      }
      assert.deepEqual([...h.sink.ids("segment")].sort(), ["plan", "seats_amount"]);
      assert.deepEqual([...h.sink.ids("survey_template")], ["11"]);
      // nps_summary: one record per day from the first response's day to today, id = the date.
      const days = h.sink.byEntity("nps_summary").map((e) => String(e.id));
      assert.ok(days.length > 390, `nps days ${days.length}`);
      assert.ok(days.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)));
      assert.equal(h.sink.byEntity("dead_letter").length, 0);
      // Never asked past page 30, never got a 400.
      assert.equal(fake.count("/v1/", 400), 0);
      const responsesReq = fake.log.filter((r) => r.path === "/v1/responses").length;
      assert.ok(responsesReq <= Math.ceil(1900 / 50) + 15, `responses requests ${responsesReq}`);
      // Every list request named its sort explicitly.
      for (const r of fake.log.filter((x) => ["/v1/responses", "/v1/declines", "/v1/end_users"].includes(x.path))) {
        assert.ok(r.query.get("sort_order") && r.query.get("sort_key"), `explicit sort on ${r.path}`);
      }
      const records = await counterValue(h.metrics, "poll_records_total", { stream: "responses" });
      assert.equal(records, 1900);
      const lag = await h.metrics.registry.getSingleMetric("wootric_firehose_poll_bookmark_lag_seconds")!.get();
      assert.ok(lag.values.some((v) => v.labels.stream === "responses" && v.value < 60));

      // A second sync right after writes nothing new: bookmarks and the lookback map hold.
      const before = h.sink.written.length;
      const again = await h.run();
      assert.equal(again.status, "ok");
      assert.equal(h.sink.written.length, before, "no duplicates on an idle re-sync");
    } finally {
      h.cleanup();
    }
  });

  test("lookback catches a late edit and a backdated response; unchanged records are not re-sent", async () => {
    fake.reset();
    const a = fake.addResponse(T0S - 2 * DAY, { text: null });
    const b = fake.addResponse(T0S - 2 * DAY + 30);
    for (let i = 0; i < 80; i += 1) fake.addResponse(T0S - 6 * DAY + i * 1000);
    const h = makeHarness(fake, clock);
    try {
      assert.equal((await h.run("responses")).status, "ok");
      assert.equal(h.sink.byEntity("response").length, 82);
      // The end user adds a comment two days later: updated_at moves, created_at does not.
      fake.edit("responses", a.id, { text: "Needs SSO" }, T0S - 60);
      // A response POSTed with a created_at three days in the past (behind the bookmark).
      const backdated = fake.addResponse(T0S - 3 * DAY, { text: "imported" });
      const r = await h.run("responses");
      assert.equal(r.status, "ok");
      const second = h.sink.byEntity("response").slice(82);
      assert.deepEqual(second.map((e) => e.id).sort(), [a.id, backdated.id].sort());
      const edited = second.find((e) => e.id === a.id)!;
      assert.equal(edited.data.text, "Needs SSO");
      assert.notEqual(edited.dedup_key, h.sink.byEntity("response").find((e) => e.id === a.id)!.dedup_key);
      assert.ok(!second.some((e) => e.id === b.id));
    } finally {
      h.cleanup();
    }
  });

  test("a token that expires or is revoked mid-sync is replaced and the sync completes", async () => {
    fake.reset();
    for (let i = 0; i < 600; i += 1) fake.addResponse(T0S - 5 * DAY + i * 60);
    const h = makeHarness(fake, clock);
    let calls = 0;
    fake.beforeList = () => {
      calls += 1;
      if (calls === 4) fake.revokeTokens();
    };
    const tokensBefore = fake.count("/oauth/token", 200);
    try {
      const r = await h.run("responses");
      assert.equal(r.status, "ok", JSON.stringify(r));
      assert.equal(h.sink.ids("response").size, 600);
      assert.equal(fake.count("/v1/responses", 401), 1, "one 401, then a new token");
      assert.equal(fake.count("/oauth/token", 200) - tokensBefore, 2);
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });

  test("5xx answers and dropped connections are retried", async () => {
    fake.reset();
    for (let i = 0; i < 120; i += 1) fake.addResponse(T0S - 2 * DAY + i * 60);
    const h = makeHarness(fake, clock);
    try {
      fake.failNext(2, 503);
      fake.dropNext(0);
      const r = await h.run("responses");
      assert.equal(r.status, "ok");
      fake.dropNext(2);
      fake.addResponse(T0S - 1000);
      const r2 = await h.run("responses", { kind: "sync" }, { checkpointEveryMs: 3_600_000 });
      assert.equal(r2.status, "ok", JSON.stringify(r2));
      assert.equal(h.sink.ids("response").size, 121);
      assert.ok((await counterValue(h.metrics, "wootric_requests_total", { status: "503" })) >= 2);
      assert.ok((await counterValue(h.metrics, "wootric_requests_total", { status: "network" })) >= 2);
    } finally {
      h.cleanup();
    }
  });

  test("a non-retryable API error fails the stream; the other streams still run", async () => {
    const h = makeHarness(fake, clock);
    try {
      fake.failNext(1, 422);
      const r = await h.run("declines,segments");
      assert.equal(r.status, "failed");
      if (r.status === "failed") {
        assert.deepEqual(
          r.errors.map((e) => e.stream),
          ["declines"],
        );
        assert.match(r.errors[0]!.error, /422/);
        assert.deepEqual(
          r.streams.map((s) => s.stream),
          ["segments"],
        );
      }
    } finally {
      h.cleanup();
    }
  });
});

describe("token lifetime", () => {
  // 100x clock and 90 s tokens: the client renews at half-life (45 s of clock = 450 ms of wall time).
  const clock = scaledClock(100, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock, tokenTtlSeconds: 90 }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("a token that runs out during a long sync is renewed before it expires, without a 401", async () => {
    for (let i = 0; i < 1000; i += 1) fake.addResponse(T0S - 4 * DAY + i * 300);
    // 50 ms a page: the 21 pages take about 100 s of clock, more than one token lifetime.
    fake.beforeList = () => new Promise((r) => setTimeout(r, 50));
    const h = makeHarness(fake, clock, { LEASE_TTL_SECONDS: "3600" });
    try {
      const r = await h.run("responses");
      assert.equal(r.status, "ok", JSON.stringify(r));
      assert.equal(h.sink.ids("response").size, 1000);
      assert.ok(fake.count("/oauth/token", 200) >= 2, `tokens: ${fake.count("/oauth/token", 200)}`);
      assert.equal(fake.count("/v1/", 401), 0);
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });
});

describe("rate limits", () => {
  // 5 requests a minute (the docs show 100; a request here takes ~10 ms = 6 clock seconds, so fewer makes pacing matter) on a clock 600 times faster than the wall:
  // a minute lasts 0.1 s, so the real rules run in milliseconds.
  const clock = scaledClock(600, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock, rateLimit: { limit: 5, windowSeconds: 60 } }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("pacing from X-Rate-Limit-* avoids 429s, and a 429 storm is waited out without losing records", async () => {
    for (let i = 0; i < 6000; i += 1) fake.addResponse(T0S - 20 * DAY + i * 200);
    const h = makeHarness(fake, clock, { SYNC_START_DATE: "2026-10-01", LEASE_TTL_SECONDS: "86400" });
    try {
      // Bookmark writes are fsynced; on a 600x clock "every 5 s" would be every page, so checkpoint hourly here.
      const r = await h.run("responses", { kind: "sync" }, { checkpointEveryMs: 3_600_000 });
      assert.equal(r.status, "ok", JSON.stringify(r));
      assert.equal(h.sink.ids("response").size, 6000);
      assert.equal(fake.count("/v1/", 429), 0, "pacing alone keeps clear of 429");
      assert.ok((await counterValue(h.metrics, "wootric_rate_limit_wait_seconds_total", { reason: "rate_limit" })) > 0);

      // A storm: the next 6 requests answer 429 (3 of them without a Reset header → the 60 s default wait).
      for (let i = 0; i < 200; i += 1) fake.addResponse(T0S - 3600 + i);
      fake.storm(6);
      let stormed = 0;
      fake.beforeList = () => {
        stormed += 1;
      };
      const r2 = await h.run("responses", { kind: "sync" }, { checkpointEveryMs: 3_600_000 });
      assert.equal(r2.status, "ok", JSON.stringify(r2));
      assert.equal(fake.count("/v1/", 429), 6);
      assert.equal(await counterValue(h.metrics, "wootric_rate_limited_total"), 6);
      assert.equal(h.sink.ids("response").size, 6200);
      assert.ok(stormed > 0);
      fake.storm(3, true);
      const r3 = await h.run("responses", { kind: "sync" }, { checkpointEveryMs: 3_600_000 });
      assert.equal(r3.status, "ok");
      assert.ok(
        (await counterValue(h.metrics, "wootric_rate_limit_wait_seconds_total", { reason: "429" })) >= 180,
        "60 s per 429 without Reset",
      );
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });
});
