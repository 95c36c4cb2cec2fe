import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { type FakeRecord, FakeWootric } from "../helpers/fake-wootric.js";
import { counterValue, DAY, makeHarness, T0, T0S } from "../helpers/poller-harness.js";

describe("seconds holding more than the list API can page through", () => {
  const clock = scaledClock(1, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("1,600 responses in one second: 1,500 ascending + the rest descending, reported as an overfull second", async () => {
    fake.reset();
    const second = T0S - 2 * DAY;
    for (let i = 0; i < 1600; i += 1) fake.addResponse(second);
    for (let i = 0; i < 40; i += 1) fake.addResponse(second - 100 + i);
    for (let i = 0; i < 40; i += 1) fake.addResponse(second + 1 + i);
    const h = makeHarness(fake, clock);
    try {
      const r = await h.run("responses");
      assert.equal(r.status, "ok");
      assert.equal(h.sink.ids("response").size, 1680);
      assert.equal(
        await counterValue(h.metrics, "poll_overfull_seconds_total", { stream: "responses", complete: "true" }),
        1,
      );
      const desc = fake.log.filter((q) => q.path === "/v1/responses" && q.query.get("sort_order") === "desc");
      assert.ok(desc.length >= 3, "read the second again in descending order");
      assert.equal(fake.count("/v1/", 400), 0, "never asked for page 31");
    } finally {
      h.cleanup();
    }
  });

  test("3,200 in one second: 3,000 fetched, the gap reported as incomplete, the sync still moves on", async () => {
    fake.reset();
    const second = T0S - 2 * DAY;
    for (let i = 0; i < 3200; i += 1) fake.addResponse(second);
    const after1 = fake.addResponse(second + 5);
    const h = makeHarness(fake, clock);
    try {
      const r = await h.run("responses");
      assert.equal(r.status, "ok");
      assert.equal(h.sink.ids("response").size, 3001);
      assert.ok(h.sink.ids("response").has(String(after1.id)));
      assert.equal(
        await counterValue(h.metrics, "poll_overfull_seconds_total", { stream: "responses", complete: "false" }),
        1,
      );
    } finally {
      h.cleanup();
    }
  });

  test("end users updated while their window is being read are not skipped (no offsets to shift)", async () => {
    fake.reset();
    const users: FakeRecord[] = [];
    for (let i = 0; i < 500; i += 1) users.push(fake.addEndUser(T0S - 3 * DAY + i * 100));
    // No settle lag, so an update stamped T0S - 1 lands inside the window being read.
    const h = makeHarness(fake, clock, { SYNC_SETTLE_SECONDS: "0" });
    let calls = 0;
    fake.beforeList = (p) => {
      if (p !== "/v1/end_users") return;
      calls += 1;
      // Each request, an early user is updated now: it leaves the window being read.
      if (calls <= 5) fake.edit("end_users", users[calls * 3]!.id, { properties: { touched: calls } }, T0S - 1);
    };
    try {
      const r = await h.run("end_users");
      assert.equal(r.status, "ok");
      assert.equal(h.sink.ids("end_user").size, 500);
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });

  test("snapshots and nps_summary are written when they change, with the documented ids", async () => {
    fake.reset();
    fake.segments = [{ name: "plan", data_type: "string", created: T0S - 9 * DAY }];
    fake.surveyTemplates = [
      {
        id: 5,
        name: "NPS",
        default_language: "en",
        languages: [],
        non_configured_language_count: 0,
        custom_samplings: [],
      },
    ];
    fake.addResponse(T0S - 2 * DAY, { score: 10 });
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "3" });
    try {
      assert.equal((await h.run("responses,segments,survey_templates,nps_summary")).status, "ok");
      assert.deepEqual([...h.sink.ids("segment")], ["plan"]);
      assert.deepEqual([...h.sink.ids("survey_template")], ["5"]);
      const nps = h.sink.byEntity("nps_summary");
      assert.equal(nps.length, 4, "today and the 3 lookback days");
      const n = h.sink.written.length;
      assert.equal((await h.run("segments,survey_templates,nps_summary")).status, "ok");
      assert.equal(h.sink.written.length, n, "nothing changed, nothing written");
      fake.segments.push({ name: "seats_amount", data_type: "integer", created: T0S });
      fake.addResponse(T0S - 2 * DAY + 60, { score: 0 });
      assert.equal((await h.run("segments,survey_templates,nps_summary")).status, "ok");
      const fresh = h.sink.written.slice(n);
      assert.deepEqual(
        fresh
          .map((e) => `${e.entity}:${e.id}`)
          .sort()
          .filter((x) => x.startsWith("segment")),
        ["segment:seats_amount"],
      );
      assert.equal(fresh.filter((e) => e.entity === "nps_summary").length, 1, "the day whose NPS changed");
    } finally {
      h.cleanup();
    }
  });

  test("invalid records become dead letters, never dropped", async () => {
    fake.reset();
    fake.addResponse(T0S - DAY);
    fake.addResponse(T0S - DAY + 1, { end_user_id: "not-a-number" });
    const h = makeHarness(fake, clock);
    try {
      assert.equal((await h.run("responses")).status, "ok");
      assert.equal(h.sink.byEntity("response").length, 1);
      const dead = h.sink.byEntity("dead_letter");
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.source, "poll");
      assert.match(String(dead[0]!.data.raw), /not-a-number/);
    } finally {
      h.cleanup();
    }
  });
});
