import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { scaledClock } from "../../src/common/clock.js";
import { isFatal } from "../../src/common/errors.js";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import type { ProgressSink } from "../../src/poller/progress.js";
import { runPoller } from "../../src/poller/run.js";
import { selectStreams } from "../../src/poller/streams.js";
import { DirStateStore } from "../../src/state/dir-store.js";
import { WootricClient } from "../../src/wootric/client.js";
import { describeNetworkError, WootricUnreachableError } from "../../src/wootric/errors.js";
import { freePort } from "../helpers/free-port.js";
import { MemorySink } from "../helpers/memory-sink.js";

describe("failing fast when the Wootric API cannot be reached", () => {
  test("the token request gives up after a few unanswered attempts and names the socket error", async () => {
    const port = await freePort(); // nothing listens there: ECONNREFUSED
    const c = new WootricClient({
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: "id",
      clientSecret: "secret",
      logger: silentLogger(),
      clock: scaledClock(1000),
    });
    const err = await c.getToken().then(
      () => assert.fail("a token from nowhere"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WootricUnreachableError, String(err));
    assert.ok(isFatal(err));
    assert.match((err as Error).message, /ECONNREFUSED/);
    assert.doesNotMatch((err as Error).message, /^fetch failed$/);
    assert.equal(c.stats.requests, 3, "three unanswered attempts, not eight");
  });

  test("describeNetworkError reads the cause chain (DNS, TLS) instead of 'fetch failed'", () => {
    const dns = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("getaddrinfo ENOTFOUND api.wootric.example"), { code: "ENOTFOUND" }),
    });
    assert.match(describeNetworkError(dns), /ENOTFOUND api\.wootric\.example/);
    const tls = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }),
    });
    assert.equal(describeNetworkError(tls), "CERT_HAS_EXPIRED: certificate has expired");
  });

  test("a run against an unreachable API stops every stream at once and no failed stream reports done", async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), "wf-failfast-"));
    const events: string[] = [];
    const progress: ProgressSink = {
      streamStart: (s) => events.push(`start ${s}`),
      streamProgress: () => undefined,
      streamDone: (s) => events.push(`done ${s}`),
      streamFailed: (s) => events.push(`failed ${s}`),
      request: () => undefined,
      wait: () => undefined,
      finish: () => undefined,
    };
    try {
      const config = loadConfig({
        WOOTRIC_API_URL: `http://127.0.0.1:${port}`,
        WOOTRIC_CLIENT_ID: "id",
        WOOTRIC_CLIENT_SECRET: "secret",
        STATE_URL: dir,
        DATA_DIR: dir,
      });
      const started = Date.now();
      const outcome = await runPoller(
        {
          config,
          logger: silentLogger(),
          metrics: new Metrics({ defaults: false }),
          sink: new MemorySink(),
          store: new DirStateStore(dir),
          clock: scaledClock(100),
          progress,
        },
        selectStreams(undefined),
        { kind: "sync" },
      );
      assert.equal(outcome.status, "failed");
      if (outcome.status === "failed") {
        assert.equal(outcome.errors.length, 1, "the first stream's failure stops the run");
        assert.match(outcome.errors[0]!.error, /WootricUnreachableError: .*ECONNREFUSED/);
      }
      assert.deepEqual(events, ["start end_users", "failed end_users"], "the failed stream never reports done");
      assert.ok(Date.now() - started < 5_000, "fails in seconds, not minutes");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
