/**
 * Firehose producer efficiency and behaviour, against the local Firehose stub (test/helpers/firehose-stub.ts), compared
 * in the same run with a naive one-record-per-event, in-memory producer (bench/_naive-producer.ts).
 *
 *   npm run bench -- firehose [--seconds 15] [--outage-seconds 30] [--rate 1000] [--firehose-latency-ms 20]
 *                             [--only billing,steady,spool,outage,quota1,quota3,drain]
 *
 * 1. billing: 10,000 ~1 KB envelopes → billed 5 KB units vs the ideal (total bytes / 5,120), PutRecordBatch calls.
 * 2. steady:  signed webhooks at a steady rate (open loop) into the real CLI (`serve`, spool fsyncing) → ack latency
 *             p50/p99, calls and billed units per 10,000 records.
 * 3. outage:  the same load while the stub answers 500 for 30 s → peak RSS, acks during the outage, catch-up time.
 * 4. quota1, quota3, drain: throughput against a stream quota (see bench/_firehose-quota.ts).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { silentLogger } from "../src/log.js";
import { Metrics } from "../src/ops/metrics.js";
import { type Envelope, makeEnvelope, serializeEnvelope } from "../src/records/envelope.js";
import { openFirehoseSink } from "../src/sink/firehose/firehose-sink.js";
import { type FirehoseStub, startFirehoseStub, stubEnv } from "../test/helpers/firehose-stub.js";
import { freePort } from "../test/helpers/free-port.js";
import { quotaBench } from "./_firehose-quota.js";
import { percentile } from "./_load.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const NAIVE = fileURLToPath(new URL("./_naive-producer.ts", import.meta.url));
const SECRET = "bench-secret-0123456789";
const STREAM = "bench-stream";

export const usage = `npm run bench -- firehose [--seconds 15] [--outage-seconds 30] [--rate 1000] [--firehose-latency-ms 20]
                            [--only billing,steady,spool,outage] [--skip-outage]

Firehose producer efficiency against the local Firehose stub, compared with a naive one-record-per-event producer.
  --seconds N               length of the steady-load phase (default 15)
  --outage-seconds N        how long the stub answers 500 in the outage phase (default 30)
  --rate N                  webhooks per second, open loop (default 1000)
  --firehose-latency-ms N   latency the stub adds to each call (default 20)
  --only a,b                phases to run: billing, steady, spool, outage (default: all)
  --skip-outage             all phases but the outage`;

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
}

/** A Wootric response webhook whose envelope line is about 1 KB. */
function webhookBody(id: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      response: {
        id,
        email: `user${id}@example.com`,
        external_id: `u-${id}`,
        score: id % 11,
        text: `comment number ${id}: ${"the onboarding was smooth and support answered quickly. ".repeat(4)}`,
        ip_address: "203.0.113.7",
        origin_url: "https://app.example.com/settings/billing",
        end_user_id: 400_000 + id,
        end_user_properties: {
          pricing_plan: ["Pro", "Enterprise", "Free"][id % 3],
          seats_amount: id % 50,
          region: "eu-west",
        },
        survey_id: 77_000 + id,
        created_at: "2024-03-05T10:15:02.558-08:00",
        updated_at: "2024-03-05T10:15:31.004-08:00",
        excluded_from_calculations: false,
      },
      event_name: "created",
      timestamp: "2024-03-05T10:15:33.120-08:00",
      account_token: "NPS-bench",
      survey_mode: "NPS",
    }),
  );
}

function envelopeFor(id: number): Envelope {
  const body = JSON.parse(webhookBody(id).toString()) as { response: unknown };
  return makeEnvelope("response", body.response, { source: "webhook" });
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const fmt = (n: number, d = 1) => n.toFixed(d);

// ---------------------------------------------------------------------------------------------------- 1. billing

async function billing(latencyMs: number): Promise<string[]> {
  const n = 10_000;
  const envs = Array.from({ length: n }, (_, i) => envelopeFor(i + 1));
  const lines = envs.map((e) => Buffer.from(serializeEnvelope(e)));
  const totalBytes = lines.reduce((s, l) => s + l.length, 0);
  const ideal = Math.ceil(totalBytes / 5120);

  // ours: the real sink (spool + packer + shipper) over HTTP to the stub
  const { stub, sink, cleanup } = await openInProcessSink(latencyMs, "bench-fh-");
  for (let i = 0; i < n; i += 50) await sink.write(envs.slice(i, i + 50));
  await sink.close(60_000);
  const ours = { ...stub.stats };
  await cleanup();

  // naive: one Firehose record per event, 500 records per call
  const stub2 = await startFirehoseStub({ streamName: STREAM, keepData: false });
  stub2.setLatency(latencyMs);
  const client2 = new FirehoseClient({
    region: "us-east-1",
    endpoint: stub2.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    maxAttempts: 1,
  });
  for (let i = 0; i < n; i += 500) {
    await client2.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: STREAM,
        Records: lines.slice(i, i + 500).map((Data) => ({ Data })),
      }),
    );
  }
  const naive = { ...stub2.stats };
  await stub2.close();
  client2.destroy();

  if (ours.acceptedLines !== n) throw new Error(`ours delivered ${ours.acceptedLines} of ${n} lines`);
  return [
    `### 1. Billing: ${n.toLocaleString("en")} envelopes of ~${Math.round(totalBytes / n)} B (${mib(totalBytes)}), written in bursts of 50`,
    "",
    "| producer | Firehose records | PutRecordBatch calls | billed 5 KB units | units / ideal |",
    "|---|---:|---:|---:|---:|",
    `| ideal (total bytes / 5,120) | | | ${ideal.toLocaleString("en")} | 1.00 |`,
    `| **this project** (≤ 500 lines per record) | ${ours.acceptedRecords} | ${ours.calls} | ${ours.billedUnits.toLocaleString("en")} | ${fmt(ours.billedUnits / ideal, 2)} |`,
    `| naive (one record per event, 500 per call) | ${naive.acceptedRecords.toLocaleString("en")} | ${naive.calls} | ${naive.billedUnits.toLocaleString("en")} | ${fmt(naive.billedUnits / ideal, 2)} |`,
    "",
  ];
}

// ---------------------------------------------------------------------------------------------------- load + processes

interface Proc {
  child: ChildProcess;
  port: number;
  output: () => string;
  stop(): Promise<void>;
}

async function spawnOurs(stub: FirehoseStub, dir: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...stubEnv(stub),
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "error",
      FIREHOSE_STREAM_NAME: STREAM,
      SPOOL_DIR: join(dir, "spool"),
      DATA_DIR: dir,
      WOOTRIC_WEBHOOK_SECRET: SECRET,
      // us-east-1-sized quota at 80 %: 1,000 req/s of ~1.1 KB lines is ~1.1 MB/s, above the 800 KiB/s default
      FIREHOSE_MAX_BYTES_PER_SECOND: String(4 * 1024 * 1024),
      FIREHOSE_LINGER_MS: "200",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return waitListening(child, port, "/healthz");
}

async function spawnNaive(stub: FirehoseStub): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", NAIVE], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...stubEnv(stub),
      PORT: String(port),
      FIREHOSE_STREAM_NAME: STREAM,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return waitListening(child, port, "/");
}

async function waitListening(child: ChildProcess, port: number, path: string): Promise<Proc> {
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited: ${out}`);
    try {
      await fetch(`http://127.0.0.1:${port}${path}`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`not listening: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    child,
    port,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return NaN;
  }
}

function rssBytes(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    return { rss: get("VmRSS"), hwm: get("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  latenciesMs: number[];
  /** 2xx / sent by the phase the request was sent in (outage bench). */
  byPhase: Record<string, { ok: number; sent: number }>;
  /** Non-2xx answers by status code (or network error code). */
  failures: Record<string, number>;
}

/** Open-loop load: requests start on schedule (`rate` per second) whatever the previous ones are doing. */
async function openLoop(
  port: number,
  rate: number,
  durationMs: number,
  firstId: number,
  onTick?: (elapsedMs: number) => void,
  phase: () => string = () => "all",
): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const res: OpenLoopResult = { sent: 0, ok: 0, failed: 0, latenciesMs: [], byPhase: {}, failures: {} };
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  let id = firstId;
  const fire = (body: Buffer) => {
    const ph = (res.byPhase[phase()] ??= { ok: 0, sent: 0 });
    ph.sent++;
    const sig = `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}`;
    const t0 = performance.now();
    const p = new Promise<void>((resolve) => {
      const r = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/webhooks/wootric",
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "x-wootric-signature": sig,
            "content-length": String(body.length),
          },
        },
        (resp) => {
          resp.resume();
          resp.on("end", () => {
            const ms = performance.now() - t0;
            if ((resp.statusCode ?? 0) >= 200 && (resp.statusCode ?? 0) < 300) {
              res.ok++;
              ph.ok++;
              res.latenciesMs.push(ms);
            } else {
              res.failed++;
              res.failures[String(resp.statusCode)] = (res.failures[String(resp.statusCode)] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      r.on("error", (err: NodeJS.ErrnoException) => {
        res.failed++;
        res.failures[err.code ?? "error"] = (res.failures[err.code ?? "error"] ?? 0) + 1;
        resolve();
      });
      r.end(body);
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) break;
    onTick?.(elapsed);
    const due = Math.floor((elapsed / 1000) * rate);
    while (res.sent < due) {
      fire(webhookBody(id));
      id++;
      res.sent++;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all([...inflight]);
  agent.destroy();
  return res;
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^wootric_firehose_${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

// ---------------------------------------------------------------------------------------------------- 2. steady

async function steady(rate: number, seconds: number, latencyMs: number): Promise<string[]> {
  const rows: string[] = [];
  for (const kind of ["ours", "naive"] as const) {
    const stub = await startFirehoseStub({ streamName: STREAM, keepData: false });
    stub.setLatency(latencyMs);
    const dir = await mkdtemp(join(tmpdir(), "bench-fh-steady-"));
    const proc = kind === "ours" ? await spawnOurs(stub, dir) : await spawnNaive(stub);
    const warm = await openLoop(proc.port, rate, 2000, 1); // warm-up
    for (let i = 0; i < 300 && stub.stats.acceptedLines < warm.ok; i++)
      await new Promise((res) => setTimeout(res, 100));
    const before = { ...stub.stats };
    const cpuBefore = cpuMs(proc.child.pid!);
    const r = await openLoop(proc.port, rate, seconds * 1000, 1_000_000);
    const cpuPerRequest = (cpuMs(proc.child.pid!) - cpuBefore) / Math.max(1, r.sent);
    const deadline = Date.now() + 30_000;
    while (stub.stats.acceptedLines - before.acceptedLines < r.ok && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 100));
    const lines = stub.stats.acceptedLines - before.acceptedLines;
    const calls = stub.stats.calls - before.calls;
    const billed = stub.stats.billedUnits - before.billedUnits;
    const ideal = (stub.stats.acceptedBytes - before.acceptedBytes) / 5120;
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const achieved = r.sent / seconds;
    await proc.stop();
    await stub.close();
    await rm(dir, { recursive: true, force: true });
    rows.push(
      `| ${kind === "ours" ? "**this project** (2xx after spool fsync)" : "naive (2xx when queued in memory)"} | ${fmt(achieved, 0)} | ${r.ok}/${r.sent} | ${fmt(percentile(sorted, 50), 2)} | ${fmt(percentile(sorted, 99), 2)} | ${fmt(cpuPerRequest, 2)} | ${fmt((calls / Math.max(1, lines)) * 10_000, 1)} | ${fmt(billed / Math.max(1, ideal), 2)} | ${lines === r.ok ? "all" : `${lines} of ${r.ok}`} |`,
    );
  }
  return [
    `### 2. Steady load: ${rate} signed webhooks/s for ${seconds} s (open loop), Firehose stub latency ${latencyMs} ms (1-min load average after: ${loadavg()[0]!.toFixed(1)})`,
    "",
    "| producer | req/s offered | 2xx | ack p50 ms | ack p99 ms | server CPU ms per request | PutRecordBatch calls per 10,000 records | billed / ideal | delivered |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ];
}

/** The real Firehose sink (spool + packer + shipper) in this process, over HTTP to a fresh stub. */
async function openInProcessSink(latencyMs: number, dirPrefix: string) {
  const stub = await startFirehoseStub({ streamName: STREAM, keepData: false });
  stub.setLatency(latencyMs);
  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const client = new FirehoseClient({
    region: "us-east-1",
    endpoint: stub.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    maxAttempts: 1,
  });
  const sink = await openFirehoseSink({
    settings: {
      kind: "firehose",
      streamName: STREAM,
      spoolDir: dir,
      spoolMaxBytes: 1024 ** 3,
      deadLetter: undefined,
      lingerMs: 200,
      maxRecordsPerSecond: 80_000,
      maxBytesPerSecond: 4 * 1024 * 1024,
      maxRequestsPerSecond: 1600,
      maxInFlight: 4,
    },
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    firehose: client,
  });
  const cleanup = async () => {
    await stub.close();
    client.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  return { stub, sink, cleanup };
}

/** sink.write latency alone (spool append + group-commit fdatasync), no HTTP: what the spool adds to an ack. */
async function sinkOnly(rate: number, seconds: number, latencyMs: number): Promise<string[]> {
  const { sink, cleanup } = await openInProcessSink(latencyMs, "bench-fh-sink-");
  const envs = Array.from({ length: 1000 }, (_, i) => envelopeFor(i + 1));
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < due) {
      const t0 = performance.now();
      pending.push(sink.write([envs[sent % envs.length]!]).then(() => void lat.push(performance.now() - t0)));
      sent++;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(pending);
  await sink.close(30_000);
  await cleanup();
  const sorted = lat.sort((a, b) => a - b);
  return [
    `Spool alone (in-process \`sink.write\` of one envelope at ${rate}/s for ${seconds} s, no HTTP): ack p50 ${fmt(percentile(sorted, 50), 2)} ms, p99 ${fmt(percentile(sorted, 99), 2)} ms over ${sorted.length} writes.`,
    "",
  ];
}

// ---------------------------------------------------------------------------------------------------- 3. outage

async function outage(rate: number, outageSeconds: number, latencyMs: number): Promise<string[]> {
  const rows: string[] = [];
  for (const kind of ["ours", "naive"] as const) {
    const stub = await startFirehoseStub({ streamName: STREAM, keepData: false });
    stub.setLatency(latencyMs);
    const dir = await mkdtemp(join(tmpdir(), "bench-fh-outage-"));
    const proc = kind === "ours" ? await spawnOurs(stub, dir) : await spawnNaive(stub);
    const pid = proc.child.pid!;
    const warm = await openLoop(proc.port, rate, 3000, 1);
    for (let i = 0; i < 300 && stub.stats.acceptedLines < warm.ok; i++)
      await new Promise((res) => setTimeout(res, 100));
    const baseline = rssBytes(pid).rss;
    let peak = baseline;
    let phase: "pre" | "down" | "post" = "pre";
    // RSS at each third of the outage: a bounded producer plateaus, an in-memory one grows with the backlog
    const thirds: number[] = [];
    let downSince = 0;
    const sampler = setInterval(() => {
      const rss = rssBytes(pid).rss;
      peak = Math.max(peak, rss);
      if (phase === "down") {
        downSince ||= Date.now();
        const k = Math.floor(((Date.now() - downSince) / (outageSeconds * 1000)) * 3);
        if (k >= 1 && k <= 2 && thirds.length < k) thirds.push(rss);
      } else if (phase === "post" && thirds.length === 2) thirds.push(rss);
    }, 100);
    const before = { ...stub.stats };
    const pre = 3000;
    const r = await openLoop(
      proc.port,
      rate,
      pre + outageSeconds * 1000 + 5000,
      1_000_000,
      (t) => {
        if (phase === "pre" && t >= pre) {
          phase = "down";
          stub.setMode({ kind: "unavailable" });
        } else if (phase === "down" && t >= pre + outageSeconds * 1000) {
          phase = "post";
          stub.setMode({ kind: "ok" });
        }
      },
      () => phase,
    );
    const down = r.byPhase.down ?? { ok: 0, sent: 0 };
    const recoverStart = Date.now();
    const deadline = Date.now() + 120_000;
    while (stub.stats.acceptedLines - before.acceptedLines < r.ok && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 100));
    const catchUp = (Date.now() - recoverStart) / 1000;
    clearInterval(sampler);
    const hwm = rssBytes(pid).hwm;
    const spoolAfter = kind === "ours" ? await metricValue(proc.port, "spool_records") : NaN;
    const delivered = stub.stats.acceptedLines - before.acceptedLines;
    await proc.stop();
    await stub.close();
    await rm(dir, { recursive: true, force: true });
    rows.push(
      `| ${kind === "ours" ? "**this project**" : "naive (in memory)"} | ${mib(baseline)} | ${thirds.map(mib).join(" → ")} | ${mib(Math.max(peak, hwm))} | ${down.ok}/${down.sent}${
        r.failed
          ? ` (failures: ${Object.entries(r.failures)
              .map(([k, v]) => `${k}×${v}`)
              .join(", ")})`
          : ""
      } | ${r.ok}/${r.sent} | ${fmt(catchUp, 1)} | ${delivered >= r.ok ? "all" : `${delivered} of ${r.ok}`}${kind === "ours" ? ` (spool left: ${spoolAfter})` : ""} | ${kind === "ours" ? "kept in the spool (fsynced)" : "lost (memory only)"} |`,
    );
  }
  return [
    `### 3. Outage: ${rate} webhooks/s; Firehose answers 500 for ${outageSeconds} s (3 s after the start, 5 s of load after)`,
    "",
    "| producer | RSS before | RSS at 1/3 → 2/3 → end of the outage | peak RSS | 2xx / sent during the outage | 2xx / sent in all | catch-up after the load (s) | delivered | acknowledged records on a crash during the outage |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows,
    "",
  ];
}

export async function run(args: string[]): Promise<void> {
  const seconds = arg(args, "seconds", 15);
  const outageSeconds = arg(args, "outage-seconds", 30);
  const rate = arg(args, "rate", 1000);
  const latencyMs = arg(args, "firehose-latency-ms", 20);
  const out: string[] = [
    `## Firehose producer (\`npm run bench -- firehose\`), ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average at start ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" / ")}`,
    "",
  ];
  const onlyIdx = args.indexOf("--only");
  const only = new Set(
    onlyIdx >= 0
      ? (args[onlyIdx + 1] ?? "").split(",")
      : ["billing", "steady", "spool", "outage", "quota1", "quota3", "drain"],
  );
  if (args.includes("--skip-outage")) only.delete("outage");
  if (only.has("billing")) {
    process.stderr.write("billing...\n");
    out.push(...(await billing(latencyMs)));
  }
  if (only.has("steady")) {
    process.stderr.write("steady load...\n");
    out.push(...(await steady(rate, seconds, latencyMs)));
  }
  if (only.has("spool")) {
    process.stderr.write("spool alone...\n");
    out.push(...(await sinkOnly(rate, seconds, latencyMs)));
  }
  if (only.has("outage")) {
    process.stderr.write("outage...\n");
    out.push(...(await outage(rate, outageSeconds, latencyMs)));
  }
  out.push(...(await quotaBench(only, seconds)));
  process.stdout.write(`${out.join("\n")}\n`);
}
