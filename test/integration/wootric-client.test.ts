import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { WootricClient } from "../../src/wootric/client.js";
import { WootricApiError, WootricAuthError } from "../../src/wootric/errors.js";
import { DEFAULT_429_WAIT_MS, RateLimitPacer, RESET_MARGIN_MS } from "../../src/wootric/rate-limit.js";
import { FakeWootric } from "../helpers/fake-wootric.js";

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

describe("Wootric client", () => {
  // 100x clock: a 2-minute token lives 1.2 s of wall time.
  const clock = scaledClock(100, T0);
  let fake: FakeWootric;
  before(async () => {
    fake = await new FakeWootric({ clock, tokenTtlSeconds: 120 }).start();
    fake.addResponse(T0 / 1000 - 100);
  });
  after(async () => {
    await fake.stop();
  });
  const client = (over: Partial<ConstructorParameters<typeof WootricClient>[0]> = {}) =>
    new WootricClient({
      baseUrl: fake.url,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      logger: silentLogger(),
      clock,
      backoffBaseMs: 10,
      ...over,
    });

  test("posts client_credentials as a form, caches the token and renews it 60 s before expires_in", async () => {
    const c = client();
    const before401 = fake.count("/v1/", 401);
    await c.getJson("/v1/responses", { sort_order: "asc" });
    await c.getJson("/v1/responses", { sort_order: "asc" });
    assert.equal(c.stats.tokens, 1, "cached");
    await clock.sleep(61_000); // past expires_in - 60
    await c.getJson("/v1/responses", { sort_order: "asc" });
    assert.equal(c.stats.tokens, 2, "renewed before expiry");
    assert.equal(fake.count("/v1/", 401) - before401, 0, "without ever collecting a 401");
  });

  test("a 401 gets one new token and a retry; a second 401 is an auth error", async () => {
    const c = client();
    fake.revokeTokens();
    await c.getJson("/v1/segments");
    assert.equal(c.stats.tokens, 1);
    fake.revokeTokens();
    await c.getJson("/v1/segments");
    assert.equal(c.stats.tokens, 2);
    // Tokens now die the moment they are issued: the retry with a fresh token is refused too.
    fake.tokenTtlSeconds = 0;
    fake.revokeTokens();
    try {
      await assert.rejects(c.getJson("/v1/segments"), WootricAuthError);
    } finally {
      fake.tokenTtlSeconds = 120;
    }
  });

  test("wrong credentials fail fast with a message naming the variables, without retries", async () => {
    const before = fake.count("/oauth/token");
    const c = client({ clientSecret: "wrong" });
    await assert.rejects(
      c.getJson("/v1/segments"),
      (e: Error) =>
        e instanceof WootricAuthError && /WOOTRIC_CLIENT_SECRET/.test(e.message) && !e.message.includes("wrong"),
    );
    assert.equal(fake.count("/oauth/token") - before, 1);
  });

  test("4xx other than 401/429 is not retried", async () => {
    const c = client();
    const before = fake.count("/v1/responses");
    await assert.rejects(
      c.getJson("/v1/responses", { page: 31 }),
      (e: Error) =>
        e instanceof WootricApiError && e.status === 400 && /page does not have a valid value/.test(e.message),
    );
    assert.equal(fake.count("/v1/responses") - before, 1);
  });

  test("5xx is retried with backoff until the attempts run out", async () => {
    const c = client({ maxAttempts: 3 });
    fake.failNext(5, 502);
    await assert.rejects(c.getJson("/v1/segments"), /after 3 attempts/);
    fake.failNext(0);
  });
});

describe("the fake Wootric API is faithful to the reference", () => {
  let fake: FakeWootric;
  let token = "";
  const T = T0 / 1000;
  before(async () => {
    fake = await new FakeWootric({ clock: scaledClock(1, T0) }).start();
    const res = await fetch(`${fake.url}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      }),
    });
    const body = (await res.json()) as { access_token: string; expires_in: number };
    assert.equal(body.expires_in, 7200);
    token = body.access_token;
    fake.addEndUser(T - 10, { email: "b@example.com" });
    fake.addEndUser(T - 20, { email: "a@example.com" });
    for (let i = 0; i < 60; i += 1) fake.addResponse(T - 1000 + i);
  });
  after(async () => {
    await fake.stop();
  });
  const get = async (path: string) => {
    const res = await fetch(`${fake.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>[] };
  };

  test("default sorts: end_users by email ascending, responses by created descending; per_page 25, capped at 50", async () => {
    const users = await get("/v1/end_users");
    assert.deepEqual(
      users.body.map((u) => u.email),
      ["a@example.com", "b@example.com"],
    );
    const responses = await get("/v1/responses");
    assert.equal(responses.body.length, 25);
    assert.ok(String(responses.body[0]!.created_at) > String(responses.body[24]!.created_at));
    assert.match(String(responses.body[0]!.created_at), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} -0800$/);
    assert.equal((await get("/v1/responses?per_page=500")).body.length, 50);
  });

  test("created filters with every operator; page 31 is a 400", async () => {
    const t = T - 1000 + 10;
    assert.equal((await get(`/v1/responses?per_page=50&created[eq]=${t}`)).body.length, 1);
    assert.equal((await get(`/v1/responses?per_page=50&created[lt]=${t}`)).body.length, 10);
    assert.equal((await get(`/v1/responses?per_page=50&created[lte]=${t}`)).body.length, 11);
    assert.equal((await get(`/v1/responses?per_page=50&created[gt]=${t}`)).body.length, 49);
    assert.equal((await get(`/v1/responses?per_page=50&created[gte]=${t}&created[lt]=${t + 5}`)).body.length, 5);
    const beyond = await get("/v1/responses?page=31");
    assert.equal(beyond.status, 400);
    assert.deepEqual(beyond.body, { errors: [{ message: "page does not have a valid value" }] });
  });
});

describe("rate-limit pacing", () => {
  const headers = (h: Record<string, string>) => new Headers(h);
  test("waits for the reset only when the window's budget is spent", () => {
    const p = new RateLimitPacer();
    const now = 1_000_000_000_000;
    assert.equal(p.delayBeforeNext(now), 0, "no headers: not limited");
    p.observe(
      headers({
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": "3",
        "X-Rate-Limit-Reset": String(now / 1000 + 30),
      }),
    );
    assert.equal(p.delayBeforeNext(now), 0);
    p.observe(
      headers({
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": String(now / 1000 + 30),
      }),
    );
    assert.equal(p.delayBeforeNext(now), 30_000 + RESET_MARGIN_MS);
    p.windowPassed();
    assert.equal(p.delayBeforeNext(now), 0);
  });
  test("a 429 waits until X-Rate-Limit-Reset, or 60 s without it, never more than 65 s", () => {
    const p = new RateLimitPacer();
    const now = 1_000_000_000_000;
    assert.equal(
      p.waitAfter429(headers({ "X-Rate-Limit-Reset": String(now / 1000 + 12) }), now),
      12_000 + RESET_MARGIN_MS,
    );
    assert.equal(p.waitAfter429(headers({}), now), DEFAULT_429_WAIT_MS);
    assert.equal(p.waitAfter429(headers({ "X-Rate-Limit-Reset": String(now / 1000 + 86_400) }), now), 65_000);
  });
});

describe("base URL", () => {
  test("WOOTRIC_REGION picks the regional host; WOOTRIC_API_URL overrides it", () => {
    const creds = { WOOTRIC_CLIENT_ID: "id", WOOTRIC_CLIENT_SECRET: "s" };
    assert.equal(loadConfig({ ...creds, WOOTRIC_REGION: "eu" }).wootric?.baseUrl, "https://api.wootric.eu");
    assert.equal(loadConfig({ ...creds, WOOTRIC_REGION: "au" }).wootric?.baseUrl, "https://api.wootric.au");
    assert.equal(
      loadConfig({ ...creds, WOOTRIC_API_URL: "http://127.0.0.1:9/" }).wootric?.baseUrl,
      "http://127.0.0.1:9",
    );
  });
});
