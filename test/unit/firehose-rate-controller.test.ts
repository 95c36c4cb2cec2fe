import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RateController } from "../../src/sink/firehose/rate-controller.js";

const MiB = 1024 * 1024;

/** A controller on a hand-driven clock. */
function controlled(options: ConstructorParameters<typeof RateController>[0] = {}) {
  const clock = { t: 0 };
  const c = new RateController({ now: () => clock.t, ...options });
  return { c, clock };
}

/**
 * A deterministic simulation of producers on one stream: each producer always has a backlog, paces calls at its
 * controller's rate (one call of `batchBytes` whenever its token balance allows), and each call's entries (64 KiB
 * each) meet the stream's byte bucket (one second of burst, starting full) as they arrive; the reply comes back
 * `latencyMs` later. Returns bytes accepted per producer in the last `measureMs`, and entries throttled / sent.
 */
function simulate(opts: {
  quota: number;
  producers: number;
  ms: number;
  measureMs: number;
  latencyMs?: number;
  startAtMs?: number[];
  options?: ConstructorParameters<typeof RateController>[0];
}) {
  const step = 5;
  const latency = opts.latencyMs ?? 20;
  const clock = { t: 0 };
  const entry = 64 * 1024;
  let bucket = opts.quota;
  const ps = Array.from({ length: opts.producers }, (_, i) => ({
    c: new RateController({ ...opts.options, now: () => clock.t }),
    tokens: 0,
    start: opts.startAtMs?.[i] ?? 0,
    accepted: 0,
    acceptedInWindow: 0,
    sentEntries: 0,
    throttledEntries: 0,
    windowSent: 0,
    windowThrottled: 0,
  }));
  const replies: Array<{ at: number; run: () => void }> = [];
  for (clock.t = 0; clock.t < opts.ms; clock.t += step) {
    bucket = Math.min(opts.quota, bucket + (opts.quota * step) / 1000);
    for (const p of ps) {
      if (clock.t < p.start) continue;
      p.tokens = Math.min(p.c.batchBytes(4 * MiB), p.tokens + (p.c.rate * step) / 1000);
      if (p.tokens < 0) {
        p.c.limited();
        continue;
      }
      const bytes = p.c.batchBytes(4 * MiB);
      p.tokens -= bytes;
      p.c.onSend(bytes);
      const sentAt = clock.t;
      let accepted = 0;
      let throttled = 0;
      for (let left = bytes; left > 0; left -= entry) {
        const n = Math.min(entry, left);
        p.sentEntries++;
        if (bucket >= n) {
          bucket -= n;
          accepted += n;
        } else throttled++;
      }
      p.throttledEntries += throttled;
      if (clock.t >= opts.ms - opts.measureMs) {
        p.windowSent += Math.ceil(bytes / entry);
        p.windowThrottled += throttled;
      }
      replies.push({
        at: clock.t + latency,
        run: () => {
          p.accepted += accepted;
          if (clock.t >= opts.ms - opts.measureMs) p.acceptedInWindow += accepted;
          const result = { sentAt, latencyMs: latency, acceptedBytes: accepted, acceptedRecords: 1 };
          if (throttled > 0) p.c.onThrottle(result);
          else p.c.onSuccess(result);
        },
      });
    }
    replies.sort((a, b) => a.at - b.at);
    while (replies.length > 0 && replies[0]!.at <= clock.t) replies.shift()!.run();
  }
  const shares = ps.map((p) => p.acceptedInWindow / ((opts.quota * opts.measureMs) / 1000));
  const sent = ps.reduce((n, p) => n + p.sentEntries, 0);
  const throttled = ps.reduce((n, p) => n + p.throttledEntries, 0);
  const windowThrottled =
    ps.reduce((n, p) => n + p.windowThrottled, 0) /
    Math.max(
      1,
      ps.reduce((n, p) => n + p.windowSent, 0),
    );
  return { shares, goodput: shares.reduce((a, b) => a + b, 0), throttled: throttled / sent, windowThrottled };
}

describe("adaptive rate controller", () => {
  test("grows while calls succeed and the rate is what holds the producer back (slow start doubles every 500 ms)", () => {
    const { c, clock } = controlled({ initialRate: MiB });
    for (let i = 1; i <= 4; i++) {
      for (let k = 1; k <= 10; k++) {
        clock.t = (i - 1) * 500 + k * 50;
        c.onSend(c.rate * 0.05); // sending at the allowed rate
      }
      c.limited();
      c.onSuccess({ sentAt: clock.t - 20, latencyMs: 20, acceptedBytes: 1000, acceptedRecords: 1 });
    }
    assert.ok(Math.abs(c.rate - 16 * MiB) < 1, `rate ${c.rate}`);
  });

  test("does not grow when something else holds the producer back (it sends far below the allowed rate)", () => {
    const { c, clock } = controlled({ initialRate: MiB });
    for (let i = 1; i <= 8; i++) {
      clock.t = i * 250;
      c.onSend(MiB * 0.05); // a fifth of the allowed rate: CPU, slots or latency bind, not the rate
      c.limited();
      c.onSuccess({ sentAt: clock.t - 20, latencyMs: 20, acceptedBytes: 1000, acceptedRecords: 1 });
    }
    assert.equal(c.rate, MiB);
  });

  test("does not grow when the producer is not limited by the rate (idle or trickling)", () => {
    const { c, clock } = controlled({ initialRate: MiB });
    for (let i = 1; i <= 8; i++) {
      clock.t = i * 2000;
      c.onSuccess({ sentAt: clock.t - 20, latencyMs: 20, acceptedBytes: 1000, acceptedRecords: 1 });
    }
    assert.equal(c.rate, MiB);
  });

  test("cuts multiplicatively on throttling, from the rate actually sent, once per round", () => {
    const { c, clock } = controlled({ initialRate: 4 * MiB });
    for (let i = 1; i <= 10; i++) {
      clock.t = i * 50;
      c.onSend(100 * 1024); // 2,048,000 B/s actually sent over the last half second
    }
    c.onThrottle({ sentAt: 490 });
    assert.ok(Math.abs(c.rate - 0.7 * 2_048_000) < 1, `cut from the measured 2,048,000 B/s: ${c.rate}`);
    const afterCut = c.rate;
    clock.t = 510;
    c.onThrottle({ sentAt: 495 }); // sent before the cut: same congestion, no second cut
    clock.t = 700;
    c.onThrottle({ sentAt: 650 }); // sent within the cool-down: the stream's answer to the cut lags it
    assert.equal(c.rate, afterCut);
    clock.t = 1100;
    c.onThrottle({ sentAt: 1050 }); // still throttled after it: cut again
    assert.ok(c.rate < afterCut * 0.71, `second cut: ${c.rate}`);
  });

  test("after a cut, climbs back toward the throttled rate (cubic) and never past the configured ceiling", () => {
    const { c, clock } = controlled({ initialRate: MiB, maxRate: 1.5 * MiB });
    clock.t = 1000;
    c.onThrottle({ sentAt: 990 });
    assert.ok(Math.abs(c.rate - 0.7 * MiB) < 1);
    let last = c.rate;
    for (let t = 1050; t <= 2500; t += 50) {
      clock.t = t;
      c.onSend(c.rate * 0.05);
      c.limited();
      c.onSuccess({ sentAt: t - 20, latencyMs: 20, acceptedBytes: 1, acceptedRecords: 1 });
      assert.ok(c.rate >= last, "never decreases on success");
      last = c.rate;
    }
    assert.ok(c.rate > 0.95 * MiB && c.rate < 1.1 * MiB, `back near the throttled rate after K ≈ 1.5 s: ${c.rate}`);
    for (let t = 2550; t <= 10_000; t += 50) {
      clock.t = t;
      c.onSend(c.rate * 0.05);
      c.limited();
      c.onSuccess({ sentAt: t - 20, latencyMs: 20, acceptedBytes: 1, acceptedRecords: 1 });
    }
    assert.equal(c.rate, 1.5 * MiB, "probes above it, up to the ceiling only");
  });

  test("rising latency holds the rate instead of growing it", () => {
    const { c, clock } = controlled({ initialRate: MiB });
    for (let i = 1; i <= 20; i++) {
      clock.t = i * 10;
      c.onSend(c.rate * 0.01);
      c.limited();
      c.onSuccess({ sentAt: clock.t, latencyMs: 20, acceptedBytes: 1, acceptedRecords: 1 });
    }
    const before = c.rate;
    assert.ok(before > MiB, "grew while latency was steady");
    clock.t = 250;
    c.onSend(c.rate * 0.05);
    c.limited();
    c.onSuccess({ sentAt: 200, latencyMs: 400, acceptedBytes: 1, acceptedRecords: 1 });
    assert.equal(c.rate, before);
    clock.t = 300;
    c.onSend(c.rate * 0.05);
    c.limited();
    c.onSuccess({ sentAt: 280, latencyMs: 20, acceptedBytes: 1, acceptedRecords: 1 });
    assert.ok(c.rate > before, "grows again once latency is back");
    const grown = c.rate;
    clock.t = 350;
    c.onSend(c.rate * 0.05);
    c.limited();
    c.onSuccess({ sentAt: 300, latencyMs: 400, acceptedBytes: 1000, acceptedRecords: 1, sentBytes: 1000 });
    assert.ok(c.rate > grown, "a much bigger call taking longer is an upload, not congestion");
  });

  test("batch size follows the rate: a tenth of a second of it, within the floor and the hard limit", () => {
    const { c, clock } = controlled({ initialRate: MiB });
    assert.equal(c.batchBytes(4_096_000), Math.floor(MiB / 10));
    for (let i = 0; i < 5; i++) {
      clock.t = 1000 + i * 1000;
      c.onThrottle({ sentAt: clock.t });
    }
    assert.equal(c.batchBytes(4_096_000), 32 * 1024, "never below the floor");
    const big = new RateController({ initialRate: 100 * MiB });
    assert.equal(big.batchBytes(4_096_000), 4_096_000, "never above the hard 4 MiB-ish limit");
  });

  test("one producer converges near a 1 MiB/s quota without oscillating into heavy throttling", () => {
    const r = simulate({ quota: MiB, producers: 1, ms: 60_000, measureMs: 30_000 });
    assert.ok(r.goodput >= 0.9, `goodput ${r.goodput.toFixed(3)}`);
    assert.ok(r.throttled <= 0.1, `throttled ${(r.throttled * 100).toFixed(1)} %`);
  });

  test("one producer finds a raised quota (8 MiB/s) too", () => {
    const r = simulate({ quota: 8 * MiB, producers: 1, ms: 60_000, measureMs: 30_000 });
    assert.ok(r.goodput >= 0.9, `goodput ${r.goodput.toFixed(3)}`);
    assert.ok(r.throttled <= 0.1, `throttled ${(r.throttled * 100).toFixed(1)} %`);
  });

  test("three independent producers converge to fair shares of one stream, even when two arrive late", () => {
    const r = simulate({
      quota: MiB,
      producers: 3,
      ms: 120_000,
      measureMs: 40_000,
      startAtMs: [0, 15_000, 30_000],
    });
    const fairness = Math.min(...r.shares) / Math.max(...r.shares);
    assert.ok(fairness >= 0.7, `shares ${r.shares.map((s) => s.toFixed(3)).join(" / ")}`);
    assert.ok(r.goodput >= 0.9, `goodput ${r.goodput.toFixed(3)}`);
    assert.ok(r.throttled <= 0.1, `throttled ${(r.throttled * 100).toFixed(1)} %`);
  });
});
