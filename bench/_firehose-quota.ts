/**
 * Throughput under a stream quota: the real Firehose sink (spool + shipper) against the local stub enforcing a
 * per-stream quota (token buckets on bytes/s, records/s and requests/s, one second of burst, starting full).
 *
 *   quota1: one producer, 1 MiB/s stream, fed 2 × the quota for 15 s, then left to drain;
 *   quota3: three independent producers (own spool, own client and credentials, sharing only the stub) on one
 *           1 MiB/s stream, each fed 2 × its third;
 *   drain:  one producer draining a 50 MB spooled backlog into an 8 MiB/s stream.
 *
 * Reported per case: goodput / quota (bytes accepted while fed ÷ what the stream could take in that time, burst
 * included), throttled entries / entries sent (entries refused "Slow down." plus entries of calls refused whole),
 * drain time / ideal (ideal = (bytes − the stream's 1 s burst) ÷ quota, so 1.00 is the best possible), per-producer
 * share and fairness (min / max), the largest call, billed 5 KB units / ideal, and "nothing acknowledged lost".
 */

import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { silentLogger } from "../src/log.js";
import { Metrics } from "../src/ops/metrics.js";
import type { Envelope } from "../src/records/envelope.js";
import { serializeEnvelope } from "../src/records/envelope.js";
import type { FirehoseSinkSettings } from "../src/sink/firehose/config.js";
import { openFirehoseSink } from "../src/sink/firehose/firehose-sink.js";
import type { Sink } from "../src/sink/sink.js";
import { type FirehoseStub, type StubQuota, startFirehoseStub } from "../test/helpers/firehose-stub.js";

const STREAM = "bench-quota-stream";
const MiB = 1024 * 1024;
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");

/** The quotas of a stream of `mib` MiB/s; requests/s and records/s move with it (AWS raises the three together). */
function quotaOf(mib: number): StubQuota {
  return { bytesPerSecond: mib * MiB, recordsPerSecond: 100_000 * mib, requestsPerSecond: 1000 * Math.max(1, mib / 2) };
}

/** ~1.1 KB envelopes, unique per producer and sequence number. */
function envelope(producer: number, seq: number): Envelope {
  return {
    entity: "response",
    id: producer * 100_000_000 + seq,
    source: "webhook",
    dedup_key: `response:${producer}-${seq}:1700000000`,
    received_at: "2026-11-27T08:00:00.000Z",
    created_at: "2026-11-27T07:59:00.000Z",
    updated_at: "2026-11-27T07:59:30.000Z",
    data: {
      id: seq,
      score: seq % 11,
      text: `comment ${seq}: ${"the onboarding was smooth and support answered quickly. ".repeat(16)}`,
    },
  };
}

const LINE_BYTES = Buffer.byteLength(serializeEnvelope(envelope(1, 1)));

function settings(dir: string): FirehoseSinkSettings {
  return {
    kind: "firehose",
    streamName: STREAM,
    spoolDir: dir,
    spoolMaxBytes: 1024 ** 3,
    deadLetter: undefined,
    lingerMs: 200,
    maxInFlight: 4,
  };
}

interface Producer {
  key: string;
  sink: Sink;
  client: FirehoseClient;
  dir: string;
  /** Envelope lines whose write() resolved (acknowledged). */
  acked: number;
  seq: number;
  metrics: Metrics;
}

async function openProducer(stub: FirehoseStub, index: number, dir?: string): Promise<Producer> {
  const key = `PRODUCER${index}`;
  const spoolDir = dir ?? (await mkdtemp(join(tmpdir(), "bench-quota-")));
  const client = new FirehoseClient({
    region: "us-east-1",
    endpoint: stub.endpoint,
    credentials: { accessKeyId: key, secretAccessKey: "y" },
    maxAttempts: 1,
  });
  const metrics = new Metrics({ defaults: false });
  const sink = await openFirehoseSink({
    settings: settings(spoolDir),
    logger: silentLogger(),
    metrics,
    firehose: client,
  });
  return { key, sink, client, dir: spoolDir, acked: 0, seq: 0, metrics };
}

/** BENCH_TRACE=1: prints each producer's allowed rate and what the stub accepted, every 500 ms. */
function trace(stub: FirehoseStub, producers: Producer[], t0: number): () => void {
  if (!process.env.BENCH_TRACE) return () => undefined;
  let last = 0;
  const timer = setInterval(async () => {
    const rates = await Promise.all(
      producers.map(async (p) => {
        const m = p.metrics.registry.getSingleMetric("wootric_firehose_producer_rate_limit_bytes_per_second");
        return ((await m?.get())?.values[0]?.value ?? 0) / MiB;
      }),
    );
    const acc = stub.stats.acceptedBytes;
    process.stderr.write(
      `t=${((performance.now() - t0) / 1000).toFixed(1)} allowed MiB/s ${rates.map((r) => r.toFixed(2)).join(" ")} accepted ${(((acc - last) * 2) / MiB).toFixed(2)} MiB/s throttled ${stub.stats.throttledEntries}\n`,
    );
    last = acc;
  }, 500);
  return () => clearInterval(timer);
}

/** Feeds `producer` at `bytesPerSecond` for `ms` (open loop, in 10 ms ticks); resolves when every write settled. */
async function feed(p: Producer, index: number, bytesPerSecond: number, ms: number): Promise<void> {
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let written = 0;
  while (performance.now() - start < ms) {
    const due = ((performance.now() - start) / 1000) * bytesPerSecond;
    const batch: Envelope[] = [];
    while (written < due) {
      batch.push(envelope(index, p.seq++));
      written += LINE_BYTES;
    }
    if (batch.length > 0)
      pending.push(
        p.sink.write(batch).then(
          () => void (p.acked += batch.length),
          () => undefined,
        ),
      );
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

interface CaseResult {
  name: string;
  goodput: number;
  throttled: number;
  drainRatio: number;
  shares: number[];
  fairness: number;
  maxCallBytes: number;
  maxCallRecords: number;
  billedRatio: number;
  lost: number;
  cpuCores: number;
  note: string;
}

function summarize(
  name: string,
  stub: FirehoseStub,
  producers: Producer[],
  quota: StubQuota,
  t0: number,
  feedMs: number,
  cpu: NodeJS.CpuUsage,
  wallMs: number,
  note: string,
): CaseResult {
  const burst = quota.bytesPerSecond * (quota.burstSeconds ?? 1);
  const window = (key?: string) =>
    stub.acceptedLog
      .filter(([t, , k]) => t >= t0 && t <= t0 + feedMs && (key === undefined || k === key))
      .reduce((n, [, b]) => n + b, 0);
  const inWindow = feedMs > 0 ? window() : NaN;
  const goodput = inWindow / ((quota.bytesPerSecond * feedMs) / 1000 + burst);
  const callers = producers.map((p) => stub.callers.get(p.key)!);
  const entries = callers.reduce((n, c) => n + (c?.entries ?? 0), 0);
  const throttledEntries = callers.reduce((n, c) => n + (c?.throttledEntries ?? 0), 0);
  const acceptedBytes = callers.reduce((n, c) => n + (c?.acceptedBytes ?? 0), 0);
  const lastAccepted = Math.max(...callers.map((c) => c?.lastAcceptedAt ?? 0));
  const ideal = Math.max(0.001, (acceptedBytes - burst) / quota.bytesPerSecond);
  const drainRatio = (lastAccepted - t0) / 1000 / ideal;
  // per-producer share of what the stream accepted while every producer was fed (the contended period)
  const shares = feedMs > 0 ? producers.map((p) => window(p.key) / Math.max(1, inWindow)) : producers.map(() => 1);
  const lost = producers.reduce((n, p, i) => n + Math.max(0, p.acked - (callers[i]?.acceptedLines ?? 0)), 0);
  return {
    name,
    goodput,
    throttled: throttledEntries / Math.max(1, entries),
    drainRatio,
    shares,
    fairness: Math.min(...shares) / Math.max(...shares),
    maxCallBytes: stub.stats.maxCallBytes,
    maxCallRecords: stub.stats.maxCallRecords,
    billedRatio: stub.stats.billedUnits / (stub.stats.acceptedBytes / 5120),
    lost,
    cpuCores: (cpu.user + cpu.system) / 1000 / wallMs,
    note,
  };
}

/** `count` producers on one stream of `mib` MiB/s, each fed 2 × its share for `seconds`, then drained. */
async function contended(name: string, count: number, mib: number, seconds: number): Promise<CaseResult> {
  const quota = quotaOf(mib);
  const stub = await startFirehoseStub({ streamName: STREAM, keepData: false });
  stub.setLatency(20);
  stub.setQuota(quota);
  const producers = await Promise.all(Array.from({ length: count }, (_, i) => openProducer(stub, i + 1)));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stopTrace = trace(stub, producers, t0);
  await Promise.all(producers.map((p, i) => feed(p, i + 1, (2 * quota.bytesPerSecond) / count, seconds * 1000)));
  const drained = await until(
    () => producers.every((p) => (stub.callers.get(p.key)?.acceptedLines ?? 0) >= p.acked),
    seconds * 4000 + 30_000,
  );
  stopTrace();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result = summarize(name, stub, producers, quota, t0, seconds * 1000, cpu, wall, drained ? "" : "NOT DRAINED");
  for (const p of producers) await p.sink.close(5000);
  await stub.close();
  for (const p of producers) {
    p.client.destroy();
    await rm(p.dir, { recursive: true, force: true });
  }
  return result;
}

/** One producer draining a backlog of `mb` MB (spooled while Firehose was down) into a `mib` MiB/s stream. */
/**
 * One producer draining a backlog of `mb` MB (spooled while Firehose was down) into a `mib` MiB/s stream, or into a
 * stream with no quota at all (`mib` undefined: what CPU and the producer itself allow on this machine right now).
 */
async function drain(
  mb: number,
  mib: number | undefined,
): Promise<CaseResult & { seconds: number; firstCallSeconds: number; bytes: number }> {
  const quota = quotaOf(mib ?? 1);
  const stub = await startFirehoseStub({ streamName: STREAM, keepData: false });
  stub.setLatency(20);
  stub.setMode({ kind: "unavailable" });
  const filler = await openProducer(stub, 1);
  const lines = Math.ceil((mb * 1_000_000) / LINE_BYTES);
  for (let i = 0; i < lines; i += 500) {
    const batch = Array.from({ length: Math.min(500, lines - i) }, () => envelope(1, filler.seq++));
    await filler.sink.write(batch);
    filler.acked += batch.length;
  }
  await filler.sink.close(0);
  filler.client.destroy();
  stub.setMode({ kind: "ok" });
  stub.setQuota(mib === undefined ? undefined : quota);
  stub.callers.clear();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const p = await openProducer(stub, 1, filler.dir);
  p.acked = filler.acked;
  const stopTrace = trace(stub, [p], t0);
  const drained = await until(() => (stub.callers.get(p.key)?.acceptedLines ?? 0) >= p.acked, 120_000);
  stopTrace();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const name =
    mib === undefined
      ? `3b. the same backlog, no quota (the producer's own ceiling)`
      : `3. one producer, ${mb} MB backlog, ${mib} MiB/s stream`;
  const caller = stub.callers.get(p.key);
  const result = {
    ...summarize(name, stub, [p], quota, t0, 0, cpu, wall, drained ? "" : "NOT DRAINED"),
    seconds: ((caller?.lastAcceptedAt ?? t0) - t0) / 1000,
    firstCallSeconds: ((caller?.firstCallAt ?? t0) - t0) / 1000,
    bytes: caller?.acceptedBytes ?? 0,
  };
  if (mib === undefined) result.drainRatio = Number.NaN;
  await p.sink.close(5000);
  await stub.close();
  p.client.destroy();
  await rm(p.dir, { recursive: true, force: true });
  return result;
}

export async function quotaBench(only: Set<string>, seconds: number): Promise<string[]> {
  const results: CaseResult[] = [];
  const load0 = loadavg()[0]!;
  if (only.has("quota1")) {
    process.stderr.write("quota: one producer...\n");
    results.push(await contended("1. one producer, 1 MiB/s, fed 2×", 1, 1, seconds));
  }
  if (only.has("quota3")) {
    process.stderr.write("quota: three producers...\n");
    results.push(await contended("2. three producers, one 1 MiB/s stream, each fed 2× its share", 3, 1, seconds));
  }
  const notes: string[] = [];
  if (only.has("drain")) {
    process.stderr.write("quota: 50 MB backlog...\n");
    const quota = await drain(50, 8);
    process.stderr.write("quota: 50 MB backlog, no quota...\n");
    const free = await drain(50, undefined);
    results.push(quota, free);
    const ideal = (quota.bytes - 8 * MiB) / (8 * MiB);
    const freeRate = free.bytes / MiB / Math.max(0.001, free.seconds - free.firstCallSeconds);
    const bound =
      freeRate < 8 * 1.2
        ? "CPU: without a quota the producer sends barely faster than the quota here"
        : "the quota and how fast the controller finds it: without a quota the producer sends faster";
    notes.push(
      `Case 3: ${fmt(quota.seconds, 1)} s from opening the spool to the last acceptance (first call after ${fmt(quota.firstCallSeconds, 1)} s: spool recovery), ideal ${fmt(ideal, 1)} s; with no quota the same backlog takes ${fmt(free.seconds, 1)} s (${fmt(freeRate, 1)} MiB/s once sending, ${fmt(free.cpuCores)} cores used): bound by ${bound}.`,
      "",
    );
  }
  if (results.length === 0) return [];
  return [
    `### Throughput under a stream quota (stub: token buckets on bytes/s, records/s, requests/s with 1 s of burst; ${LINE_BYTES} B lines; 20 ms stub latency; fed for ${seconds} s; 1-min load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)})`,
    "",
    "| case | goodput / quota | throttled / entries sent | drain / ideal | share per producer | fairness (min/max) | largest call | billed / ideal | acknowledged, not delivered | CPU (cores) |",
    "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.name}${r.note ? ` **${r.note}**` : ""} | ${fmt(r.goodput)} | ${fmt(r.throttled * 100, 1)} % | ${fmt(r.drainRatio)} | ${r.shares.map((s) => fmt(s)).join(" / ")} | ${fmt(r.fairness)} | ${r.maxCallRecords} records, ${(r.maxCallBytes / MiB).toFixed(2)} MiB | ${fmt(r.billedRatio)} | ${r.lost} | ${fmt(r.cpuCores)} |`,
    ),
    "",
    ...notes,
  ];
}
