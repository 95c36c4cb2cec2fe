/**
 * `npm run bench -- poller [--records 20000] [--reconcile-records 100000] [--scale 60] [--limit 100] [--only backfill|reconcile]`
 *
 * Part 2, the full reconciliation (`sync --once --full`): an account of N responses over two years plus end users,
 * declines, segments and survey templates, synced once without a rate limit (to fill the version map), then changed
 * (old edits, backdated imports, deletions) and reconciled under the rate limit. Reports requests against the minimum
 * (ceil(records / 50) per window stream plus one per snapshot stream), API time on the simulated clock against the
 * rate-limit bound, what was written, and the version map's stored bytes per record.
 *
 * A backfill of N responses from the fake Wootric API (test/helpers/fake-wootric.ts) under the documented rate
 * limit (100 requests per minute), through the real client, window scanner and engine, into an in-memory sink.
 * Reports requests made against the minimum (records / 50, the page size cap) and the time taken against the
 * rate-limit bound (minimum requests / limit minutes).
 *
 * Time scaling: the fake server and the client share a clock running `scale` times faster than the wall (60: one
 * wall second is one API minute), so the real rate rules, X-Rate-Limit-Reset included, play out in seconds. Only
 * the waits are compressed: our own processing and loopback latency are stretched by the same factor when
 * measured in clock time, so the time ratio reported is an upper bound on the real overhead.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { scaledClock } from "../src/common/clock.js";
import { loadConfig } from "../src/config/index.js";
import { silentLogger } from "../src/log.js";
import { Metrics } from "../src/ops/metrics.js";
import { makeClient, runPoller } from "../src/poller/run.js";
import { selectStreams } from "../src/poller/streams.js";
import { DirStateStore } from "../src/state/dir-store.js";
import { FakeWootric } from "../test/helpers/fake-wootric.js";
import { MemorySink } from "../test/helpers/memory-sink.js";

export const usage = `npm run bench -- poller [--records 20000] [--scale 60] [--limit 100]

A backfill from the fake Wootric API under its rate limit, on a clock running --scale times faster than the wall.
  --records N   responses in the fake account (default 20000)
  --scale N     clock speed-up: 60 makes one wall second one API minute (default 60)
  --limit N     the API's requests per minute (default 100)`;

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
}

/** Deterministic PRNG (mulberry32) so every run sees the same dataset. */
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

interface Scenario {
  name: string;
  seed: (fake: FakeWootric, n: number, nowSec: number) => void;
}

const DAY = 86_400;
const scenarios: Scenario[] = [
  {
    name: "90 days, random times, 5 bursts of 100 in one second",
    seed: (fake, n, now) => {
      const r = rng(1);
      const start = now - 95 * DAY;
      for (let i = 0; i < n - 500; i += 1) fake.addResponse(start + Math.floor(r() * 90 * DAY));
      for (let b = 0; b < 5; b += 1) for (let i = 0; i < 100; i += 1) fake.addResponse(start + (b + 1) * 15 * DAY);
    },
  },
  {
    name: "one busy day (about one response every 4 s, many seconds shared)",
    seed: (fake, n, now) => {
      const r = rng(2);
      const start = now - 3 * DAY;
      for (let i = 0; i < n; i += 1) fake.addResponse(start + Math.floor(r() * DAY));
    },
  },
];

export async function run(args: string[]): Promise<void> {
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
  if (only !== "reconcile") await runBackfill(args);
  if (only !== "backfill") await runReconcile(args);
}

async function runBackfill(args: string[]): Promise<void> {
  const records = arg(args, "records", 20_000);
  const scale = arg(args, "scale", 60);
  const limit = arg(args, "limit", 100);
  const lines: string[] = [];
  const out = (s: string) => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  out(
    `poller backfill benchmark: ${records} responses, rate limit ${limit}/min, clock ×${scale} (1 wall s = ${scale} API s)`,
  );
  out("");
  out(
    "| dataset | requests | minimum (records/50) | request ratio | API time (clock) | rate-limit bound | time ratio | 429s | wall s |",
  );
  out("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const scenario of scenarios) {
    const start = Date.UTC(2026, 10, 27, 12, 0, 0);
    const clock = scaledClock(scale, start);
    const fake = await new FakeWootric({ clock, rateLimit: { limit, windowSeconds: 60 } }).start();
    const dir = mkdtempSync(path.join(tmpdir(), "wf-bench-poller-"));
    try {
      scenario.seed(fake, records, Math.floor(start / 1000));
      const config = loadConfig({
        ...fake.env(),
        STATE_URL: dir,
        DATA_DIR: dir,
        SYNC_SETTLE_SECONDS: "5",
        LEASE_TTL_SECONDS: "86400",
      });
      const metrics = new Metrics({ defaults: false });
      const logger = silentLogger();
      const client = makeClient({ config, logger, metrics, clock });
      const sink = new MemorySink();
      const since = new Date(start - 120 * DAY * 1000).toISOString().slice(0, 10);
      const t0 = clock.now();
      const w0 = performance.now();
      const outcome = await runPoller(
        { config, logger, metrics, sink, store: new DirStateStore(dir), clock, client },
        selectStreams("responses"),
        { kind: "backfill", since },
      );
      const clockSeconds = (clock.now() - t0) / 1000;
      const wallSeconds = (performance.now() - w0) / 1000;
      if (outcome.status !== "ok") throw new Error(`backfill failed: ${JSON.stringify(outcome)}`);
      const got = sink.ids("response").size;
      if (got !== records) throw new Error(`expected ${records} records, got ${got}`);
      const requests = fake.count("/v1/responses");
      const minimum = Math.ceil(records / 50);
      const boundSeconds = (minimum / limit) * 60;
      out(
        `| ${scenario.name} | ${requests} | ${minimum} | ${(requests / minimum).toFixed(3)} | ${clockSeconds.toFixed(0)} s | ${boundSeconds.toFixed(0)} s | ${(clockSeconds / boundSeconds).toFixed(3)} | ${fake.count("/v1/", 429)} | ${wallSeconds.toFixed(1)} |`,
      );
    } finally {
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Total bytes of the files under dir (recursive). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return total;
}

async function runReconcile(args: string[]): Promise<void> {
  const responses = arg(args, "reconcile-records", 100_000);
  const scale = arg(args, "scale", 60);
  const limit = arg(args, "limit", 100);
  const endUsers = Math.round(responses / 5);
  const declines = Math.round(responses / 12);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out("");
  out(
    `full reconciliation benchmark: ${responses} responses, ${endUsers} end users, ${declines} declines over two years, 2 snapshot streams; rate limit ${limit}/min, clock ×${scale}`,
  );
  const start = Date.UTC(2026, 10, 27, 12, 0, 0);
  const clock = scaledClock(scale, start);
  const fake = await new FakeWootric({ clock }).start();
  const dir = mkdtempSync(path.join(tmpdir(), "wf-bench-reconcile-"));
  try {
    const now = Math.floor(start / 1000);
    const r = rng(3);
    const span = 730 * DAY;
    const users = [];
    for (let i = 0; i < endUsers; i += 1) {
      const created = now - span + Math.floor(r() * span);
      users.push(fake.addEndUser(created + Math.floor(r() * (now - created - 3600)), {}, created));
    }
    const resp = [];
    for (let i = 0; i < responses; i += 1) {
      const u = users[Math.floor(r() * users.length)]!;
      resp.push(fake.addResponse(now - span + Math.floor(r() * span), { end_user_id: u.id }));
    }
    for (let i = 0; i < declines; i += 1) fake.addDecline(now - span + Math.floor(r() * span));
    fake.segments = [
      { name: "plan", data_type: "string", created: now - span },
      { name: "seats_amount", data_type: "integer", created: now - span },
    ];
    fake.surveyTemplates = [{ id: 11, name: "NPS", default_language: "en", languages: [], custom_samplings: [] }];
    const config = loadConfig({
      ...fake.env(),
      STATE_URL: dir,
      DATA_DIR: dir,
      SYNC_SETTLE_SECONDS: "5",
      LEASE_TTL_SECONDS: "86400",
    });
    const metrics = new Metrics({ defaults: false });
    const logger = silentLogger();
    const client = makeClient({ config, logger, metrics, clock });
    const store = new DirStateStore(dir);
    const streams = selectStreams("end_users,responses,declines,segments,survey_templates");
    const first = await runPoller({ config, logger, metrics, sink: new MemorySink(), store, clock, client }, streams, {
      kind: "sync",
    });
    if (first.status !== "ok") throw new Error(`initial sync failed: ${JSON.stringify(first)}`);

    // Changes: 1 % of responses edited long after creation, 0.1 % backdated imports, 0.05 % deleted.
    const edits = Math.round(responses / 100);
    const backdated = Math.round(responses / 1000);
    const deletions = Math.round(responses / 2000);
    for (let i = 0; i < edits; i += 1) fake.edit("responses", resp[i * 97]!.id, { tags: ["EDITED"] }, now - 600);
    for (let i = 0; i < backdated; i += 1) fake.addResponse(now - 400 * DAY + i * 3600, { text: "imported" });
    for (let i = 0; i < deletions; i += 1) fake.remove("responses", resp[i * 97 + 48]!.id); // never an edited one

    fake.rateLimit = { limit, windowSeconds: 60 };
    const sink = new MemorySink();
    const logFrom = fake.log.length;
    const t0 = clock.now();
    const w0 = performance.now();
    const outcome = await runPoller({ config, logger, metrics, sink, store, clock, client }, streams, {
      kind: "reconcile",
    });
    const clockSeconds = (clock.now() - t0) / 1000;
    const wallSeconds = (performance.now() - w0) / 1000;
    if (outcome.status !== "ok") throw new Error(`reconcile failed: ${JSON.stringify(outcome)}`);
    const log = fake.log.slice(logFrom);
    const count = (p: string) => log.filter((x) => x.path === p && x.status !== 429).length;
    const sizes = {
      "/v1/end_users": fake.lists.end_users.size,
      "/v1/responses": fake.lists.responses.size,
      "/v1/declines": fake.lists.declines.size,
    };
    let requests = count("/v1/segments") + count("/v1/survey_templates");
    let minimum = 2;
    for (const [p, n] of Object.entries(sizes)) {
      requests += count(p);
      minimum += Math.ceil(n / 50);
    }
    const boundSeconds = (minimum / limit) * 60;
    const tracked = fake.lists.end_users.size + fake.lists.responses.size + fake.lists.declines.size;
    const stateBytes = bytesUnder(path.join(dir, "versions"));
    const tombstones = sink.written.filter((e) => e.deleted).length;
    const changed = sink.written.length - tombstones;
    out("");
    out(
      "| requests | minimum | request ratio | API time (clock) | rate-limit bound | time ratio | 429s | records written | expected | tombstones | state bytes | bytes/record | wall s |",
    );
    out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    out(
      `| ${requests} | ${minimum} | ${(requests / minimum).toFixed(3)} | ${(clockSeconds / 60).toFixed(1)} min | ${(boundSeconds / 60).toFixed(1)} min | ${(clockSeconds / boundSeconds).toFixed(3)} | ${log.filter((x) => x.status === 429).length} | ${changed} | ${edits + backdated} | ${tombstones} (of ${deletions}) | ${stateBytes} | ${(stateBytes / tracked).toFixed(2)} | ${wallSeconds.toFixed(1)} |`,
    );
    if (changed !== edits + backdated || tombstones !== deletions)
      throw new Error("the reconciliation did not write exactly the changes");
  } finally {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
