import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { combineReadiness } from "../../src/ops/readiness.js";
import { createApp } from "../../src/webhook/app.js";
import { awsError, envelopeOfSize, lineOf, okReply, openHarness } from "../helpers/firehose-harness.js";

const MiB = 1024 * 1024;
const sorted = (xs: string[]) => [...xs].sort();
const slowDown = { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." };

describe("firehose sink: adaptive rate", () => {
  test('per-entry "Slow down." cuts the allowed rate, shrinks the calls with it, and loses nothing', async () => {
    const callBytes: number[] = [];
    let allowedAfterThrottles = Number.NaN;
    const h = await openHarness({
      rateControl: {}, // the production controller: starts at 1 MiB/s
      firehose: async (records, call) => {
        callBytes.push(records.reduce((n, r) => n + r.length, 0));
        if (call === 3) allowedAfterThrottles = await h.metric("producer_rate_limit_bytes_per_second");
        // the first three calls: every entry but the first is over the quota
        if (call < 3) {
          const res = records.map((_, i) => (i === 0 ? { RecordId: `r${i}` } : slowDown));
          return { FailedPutCount: res.length - 1, RequestResponses: res };
        }
        return okReply(records.length);
      },
      packLimits: { maxLinesPerRecord: 10 },
    });
    try {
      const envs = Array.from({ length: 400 }, (_, i) => envelopeOfSize(i, 2000));
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length >= 400, 20_000, "all accepted");
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)), "each line exactly once");
      assert.ok((await h.metric("producer_throttled_entries_total")) > 0);
      assert.ok(allowedAfterThrottles < MiB, `allowed rate cut below the initial 1 MiB/s: ${allowedAfterThrottles}`);
      // the first call carries a tenth of a second at the initial 1 MiB/s (plus at most one line), never 4 MiB
      assert.ok(callBytes[0]! <= MiB / 10 + 2000, `first call ${callBytes[0]} bytes`);
      assert.ok(
        Math.max(...callBytes.slice(1)) <= MiB / 10 + 2000,
        "later calls are no larger than the cut rate allows",
      );
    } finally {
      await h.cleanup();
    }
  });

  test("per-entry InternalFailure is resent but is not throttling: the rate is not cut", async () => {
    const h = await openHarness({
      rateControl: {},
      firehose: (records, call) => {
        if (call < 3) {
          const res = records.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure." }));
          return { FailedPutCount: res.length, RequestResponses: res };
        }
        return okReply(records.length);
      },
    });
    try {
      const envs = Array.from({ length: 20 }, (_, i) => envelopeOfSize(i, 1000));
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length >= 20, 10_000, "all accepted");
      assert.equal(await h.metric("producer_throttled_entries_total"), 0);
      assert.ok((await h.metric("producer_rate_limit_bytes_per_second")) >= MiB);
    } finally {
      await h.cleanup();
    }
  });

  test("whole-call ThrottlingException counts as a throttled call and cuts the rate; the records are resent", async () => {
    const h = await openHarness({
      rateControl: {},
      firehose: (records, call) => {
        if (call < 2) throw awsError("ThrottlingException", 400, "Rate exceeded");
        return okReply(records.length);
      },
    });
    try {
      const envs = Array.from({ length: 50 }, (_, i) => envelopeOfSize(i, 1000));
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length >= 50, 10_000, "all accepted");
      assert.equal(await h.metric("producer_throttled_calls_total"), 2);
      assert.ok((await h.metric("producer_rate_limit_bytes_per_second")) < MiB);
    } finally {
      await h.cleanup();
    }
  });

  test("readiness detail carries the backlog and its drain estimate; the gauges agree", async () => {
    let down = true;
    const h = await openHarness({
      rateControl: {},
      firehose: (records) => {
        if (down) throw awsError("ServiceUnavailableException", 500, "Service is unavailable.");
        return okReply(records.length);
      },
    });
    try {
      await h.sink.write(Array.from({ length: 100 }, (_, i) => envelopeOfSize(i, 1000)));
      const r = h.sink.readiness();
      assert.equal(r.ready, true, "an outage alone keeps intake ready: the spool absorbs it");
      assert.equal(r.detail?.spool_records, 100);
      assert.ok((r.detail?.spool_bytes as number) >= 100_000, "100 lines of 1,000 bytes, plus framing");
      const drain = r.detail?.drain_seconds as number;
      assert.ok(drain > 0 && Number.isFinite(drain), `drain estimate ${drain}`);
      assert.ok((await h.metric("producer_drain_seconds")) > 0);
      down = false;
      await h.until(() => h.recorded.accepted.length >= 100, 10_000, "all accepted");
      await h.until(() => h.sink.readiness().detail?.drain_seconds === 0, 5000, "drained");
      assert.ok((await h.metric("producer_send_bytes_per_second")) > 0);
    } finally {
      await h.cleanup();
    }
  });

  test("FIREHOSE_MAX_BYTES_PER_SECOND is a ceiling on the adaptive rate", async () => {
    const h = await openHarness({
      rateControl: { initialRate: 4 * MiB },
      settings: { maxBytesPerSecond: 64 * 1024 },
      firehose: (records) => okReply(records.length),
    });
    try {
      assert.equal(await h.metric("producer_rate_limit_bytes_per_second"), 64 * 1024);
    } finally {
      await h.cleanup();
    }
  });
});

describe("config: fixed send limits are optional ceilings", () => {
  test("unset by default; a value is a ceiling; a bad value names the variable", () => {
    const base = { FIREHOSE_STREAM_NAME: "s", WOOTRIC_WEBHOOK_SECRET: "a-sixteen-char-secret" };
    const sink = loadConfig(base).sink;
    assert.equal(sink.kind, "firehose");
    if (sink.kind !== "firehose") return;
    assert.equal(sink.maxBytesPerSecond, undefined);
    assert.equal(sink.maxRecordsPerSecond, undefined);
    assert.equal(sink.maxRequestsPerSecond, undefined);
    const capped = loadConfig({ ...base, FIREHOSE_MAX_BYTES_PER_SECOND: "2097152" }).sink;
    assert.equal(capped.kind === "firehose" && capped.maxBytesPerSecond, 2_097_152);
    assert.throws(
      () => loadConfig({ ...base, FIREHOSE_MAX_BYTES_PER_SECOND: "fast" }),
      /FIREHOSE_MAX_BYTES_PER_SECOND/,
    );
  });
});

describe("/readyz detail", () => {
  test("every part's detail is shown, ready or not; the first part that is not ready gives the reason", async () => {
    let sinkReady = true;
    const readiness = combineReadiness([
      () =>
        sinkReady
          ? { ready: true, detail: { drain_seconds: 12.5 } }
          : { ready: false, reason: "spool full", detail: { drain_seconds: 99 } },
      () => ({ ready: false, reason: "poller: lease lost" }),
    ]);
    const app = createApp({
      sink: {
        kind: "test",
        write: async () => undefined,
        readiness: () => ({ ready: true }),
        close: async () => undefined,
      },
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      secrets: ["s"],
      allowUnsigned: false,
      maxBodyBytes: 1024,
      readiness,
    });
    const server = await new Promise<import("node:http").Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
      let res = await fetch(url);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        status: "not ready",
        reason: "poller: lease lost",
        detail: { drain_seconds: 12.5 },
      });
      sinkReady = false;
      res = await fetch(url);
      assert.deepEqual(await res.json(), { status: "not ready", reason: "spool full", detail: { drain_seconds: 99 } });
    } finally {
      server.close();
    }
  });
});
