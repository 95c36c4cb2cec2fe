import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { scaledClock, systemClock } from "../../src/common/clock.js";
import { silentLogger } from "../../src/log.js";
import { DirStateStore } from "../../src/state/dir-store.js";
import { Lease } from "../../src/state/lease.js";
import type { StateStore, WriteCondition } from "../../src/state/store.js";
import { WootricClient } from "../../src/wootric/client.js";
import { DEFAULT_429_WAIT_MS, RateLimitPacer } from "../../src/wootric/rate-limit.js";
import { type FakeRecord, FakeWootric } from "../helpers/fake-wootric.js";
import { DAY, makeHarness, T0, T0S } from "../helpers/poller-harness.js";

describe("review regressions: window scan", () => {
  const clock = scaledClock(1, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock }).start();
  });
  after(async () => {
    await fake.stop();
  });

  test("an end user read at a page's last second and updated to a later second inside the window is written again", async () => {
    fake.reset();
    const s0 = T0S - 3 * DAY;
    const s1 = s0 + 100;
    for (let i = 0; i < 30; i += 1) fake.addEndUser(s0);
    const atS1: FakeRecord[] = [];
    for (let i = 0; i < 30; i += 1) atS1.push(fake.addEndUser(s1));
    const h = makeHarness(fake, clock, { SYNC_SETTLE_SECONDS: "0" });
    let calls = 0;
    let moved: FakeRecord | undefined;
    fake.beforeList = (p) => {
      if (p !== "/v1/end_users") return;
      calls += 1;
      if (calls !== 2) return;
      // The first page (30 at s0 + 20 at s1) delivered some s1 users; one of them is updated (its new updated_at
      // still inside the window, e.g. a transaction that became visible late) before the window is re-read at s1.
      const delivered = new Set(h.sink.byEntity("end_user").map((e) => String(e.id)));
      moved = atS1.find((u) => delivered.has(String(u.id)));
      assert.ok(moved, "a user of the crowded second was on the first page");
      fake.edit("end_users", moved.id, { properties: { plan: "Enterprise" } }, s1 + 50);
    };
    try {
      const r = await h.run("end_users");
      assert.equal(r.status, "ok");
      assert.ok(calls >= 2);
      const versions = h.sink.byEntity("end_user").filter((e) => String(e.id) === String(moved!.id));
      assert.ok(
        versions.some((e) => (e.data as { properties?: { plan?: string } }).properties?.plan === "Enterprise"),
        `the updated version of end user ${moved!.id} was written (got ${versions.length} version(s))`,
      );
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
    }
  });
});

describe("review regressions: rate limits", () => {
  test("a 429 whose X-Rate-Limit-Reset is already past (clock skew) waits the documented minute, not 250 ms", () => {
    const p = new RateLimitPacer();
    const now = 1_000_000_000_000;
    // Our clock runs 2 minutes ahead of Wootric's: the server's reset second is in our past, yet it still refuses.
    assert.equal(
      p.waitAfter429(new Headers({ "X-Rate-Limit-Reset": String(now / 1000 - 120) }), now),
      DEFAULT_429_WAIT_MS,
    );
  });

  test("a client whose clock is ahead of Wootric's waits out a 429 storm instead of giving up within seconds", async () => {
    // Wootric's clock is 5 minutes behind ours: every Reset it sends is in our past.
    const ours = scaledClock(1000, T0);
    const theirs = { now: () => ours.now() - 300_000, sleep: ours.sleep };
    const fake = await new FakeWootric({ clock: theirs }).start();
    try {
      fake.addResponse(T0S - 1000);
      fake.storm(40);
      let waited429 = 0;
      const c = new WootricClient({
        baseUrl: fake.url,
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        logger: silentLogger(),
        clock: ours,
        max429s: 30,
        onWait: (ms, reason) => {
          if (reason === "429") waited429 += ms;
        },
      });
      await assert.rejects(c.getJson("/v1/responses"));
      // 31 429s in a row: 30 waits, each the documented minute (not 250 ms, which gives up after 7.5 s).
      assert.equal(waited429, 30 * DEFAULT_429_WAIT_MS);
    } finally {
      await fake.stop();
    }
  });
});

describe("review regressions: lease", () => {
  test("a lease renewal that keeps failing (state store down) is retried with a pause, not in a tight loop", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "wf-lease-"));
    const inner = new DirStateStore(dir);
    let down = false;
    let attempts = 0;
    const store: StateStore = {
      location: inner.location,
      read: (k) => inner.read(k),
      remove: (k, v) => inner.remove(k, v),
      write: async (k: string, b: string, c: WriteCondition) => {
        if (down) {
          attempts += 1;
          await new Promise((r) => setImmediate(r)); // a failing I/O call, as a real store's would be
          throw new Error("state store unavailable");
        }
        return inner.write(k, b, c);
      },
    };
    const lease = await Lease.acquire(store, { ttlMs: 1_500, clock: systemClock, purpose: "test" });
    down = true;
    lease.startAutoRenew(() => {});
    try {
      await new Promise((r) => setTimeout(r, 1_200)); // the first renewal is due after 500 ms
      assert.ok(attempts >= 1, "renewal was attempted");
      assert.ok(attempts <= 20, `renewal retried ${attempts} times in 0.7 s`);
    } finally {
      down = false;
      await lease.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("review regressions: nps_summary days", () => {
  test("with LOOKBACK_DAYS=0 a day is re-read after the account's day (-0800) has closed, not frozen at UTC midnight", async () => {
    // A hand-driven clock: runs happen once a day just after UTC midnight (POLL_CRON="10 0 * * *").
    let t = Date.UTC(2026, 10, 27, 0, 10, 0);
    const clock = { now: () => t, sleep: systemClock.sleep };
    const fake = await new FakeWootric({ clock, utcOffsetMinutes: -480 }).start();
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "0", SYNC_START_DATE: "2026-11-26" });
    try {
      fake.addResponse(Date.UTC(2026, 10, 26, 18, 0, 0) / 1000, { score: 10 }); // 2026-11-26 10:00 -0800
      assert.equal((await h.run("nps_summary")).status, "ok");
      fake.addResponse(Date.UTC(2026, 10, 27, 4, 0, 0) / 1000, { score: 0 }); // 2026-11-26 20:00 -0800
      t = Date.UTC(2026, 10, 28, 0, 10, 0);
      assert.equal((await h.run("nps_summary")).status, "ok");
      const day = h.sink.byEntity("nps_summary").filter((e) => e.id === "2026-11-26");
      assert.ok(day.length > 0);
      assert.equal(
        (day.at(-1)!.data as { responses: number }).responses,
        2,
        "the last summary written for 2026-11-26 counts the whole account day",
      );
    } finally {
      h.cleanup();
      await fake.stop();
    }
  });
});

describe("review regressions: first sync", () => {
  test("without SYNC_START_DATE the first sync reads the whole history, backdated records before 2013 included", async () => {
    const clock = scaledClock(1, T0);
    const fake = await new FakeWootric({ clock }).start();
    const h = makeHarness(fake, clock);
    try {
      // POST /v1/end_users/{id}/responses accepts a past created_at (docs.wootric.com/api): an import of older survey data.
      const imported = fake.addResponse(Date.UTC(2011, 5, 1) / 1000);
      const recent = fake.addResponse(T0S - DAY);
      assert.equal((await h.run("responses")).status, "ok");
      assert.deepEqual([...h.sink.ids("response")].sort(), [String(imported.id), String(recent.id)].sort());
    } finally {
      h.cleanup();
      await fake.stop();
    }
  });
});

describe("review regressions: doctor", () => {
  test("doctor reports an S3 state store that answers 403 for a missing key (no s3:ListBucket), which would stop the first lease", async () => {
    const { mockClient } = await import("aws-sdk-client-mock");
    const { S3Client, GetObjectCommand, PutObjectCommand, DeleteObjectCommand, S3ServiceException } = await import(
      "@aws-sdk/client-s3"
    );
    const { loadConfig } = await import("../../src/config/index.js");
    const { checkStateStore } = await import("../../src/state/doctor-check.js");
    const s3 = mockClient(S3Client);
    const fake = await new FakeWootric().start();
    const dir = mkdtempSync(path.join(tmpdir(), "wf-doctor403-"));
    try {
      const denied = new S3ServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "Access Denied",
      });
      // Without s3:ListBucket: keys that exist read fine, keys that do not exist answer 403, never 404.
      const objects = new Map<string, string>();
      s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
        objects.set(input.Key, input.Body);
        return { ETag: '"v1"' };
      });
      s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
        const body = objects.get(input.Key);
        if (body === undefined) throw denied;
        return { ETag: '"v1"', Body: { transformToString: async () => body } };
      });
      s3.on(DeleteObjectCommand).resolves({});
      const state = await checkStateStore(
        loadConfig({
          ...fake.env(),
          DATA_DIR: dir,
          STATE_URL: "s3://state-bucket/wootric",
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "x",
          AWS_SECRET_ACCESS_KEY: "y",
        }),
      );
      assert.equal(state.ok, false, state.detail);
      assert.match(state.detail, /s3:ListBucket/);
    } finally {
      s3.restore();
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("review regressions: nps_summary first sync", () => {
  test("when the first responses sync fails, nps_summary does not start at the lookback and skip the history for good", async () => {
    const clock = scaledClock(1, T0);
    const fake = await new FakeWootric({ clock }).start();
    const h = makeHarness(fake, clock, { LOOKBACK_DAYS: "3" });
    try {
      const first = fake.addResponse(T0S - 30 * DAY, { score: 9 });
      fake.addResponse(T0S - DAY, { score: 3 });
      fake.failNext(1, 400); // the very first responses request fails (not retryable): that stream fails, the run goes on
      const r1 = await h.run("responses,nps_summary");
      assert.equal(r1.status, "failed");
      assert.equal((await h.run("responses,nps_summary")).status, "ok");
      const days = new Set(h.sink.byEntity("nps_summary").map((e) => String(e.id)));
      assert.ok(
        days.has(fake.localDay(first.created)) || days.has(new Date(first.created * 1000).toISOString().slice(0, 10)),
        `nps_summary covers the first response's day (got ${[...days].sort().join(", ")})`,
      );
    } finally {
      h.cleanup();
      await fake.stop();
    }
  });
});

describe("review regressions: crowded second", () => {
  test("end users leaving a crowded second while it is paged through (page=1..n) do not shift others out of the read", async () => {
    const clock = scaledClock(1, T0);
    const fake = await new FakeWootric({ clock }).start();
    const h = makeHarness(fake, clock);
    try {
      const s = T0S - 3 * DAY;
      const users: FakeRecord[] = [];
      for (let i = 0; i < 120; i += 1) users.push(fake.addEndUser(s)); // a bulk update: 120 users in one second
      let moved = false;
      fake.beforeList = (p, q) => {
        if (p !== "/v1/end_users" || q.get("page") !== "2" || moved) return;
        moved = true;
        // Between page 1 and page 2 of the second, a user already read on page 1 (the fake breaks ties by this hash)
        // is updated again: every later user moves up one place.
        const sorted = [...users].sort(
          (a, b) => (Math.imul(a.id, 2654435761) >>> 0) - (Math.imul(b.id, 2654435761) >>> 0),
        );
        fake.edit("end_users", sorted[0]!.id, { properties: { again: true } }, T0S);
      };
      const r = await h.run("end_users");
      assert.equal(r.status, "ok");
      assert.ok(moved, "the second was paged through");
      assert.equal(h.sink.ids("end_user").size, 120, "every user of the crowded second was read");
    } finally {
      fake.beforeList = undefined;
      h.cleanup();
      await fake.stop();
    }
  });
});
