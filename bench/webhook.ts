/**
 * Signed-webhook throughput and latency of the real `serve` (file sink: gzip, group-commit fsync before 2xx) against a
 * bare Express app answering the same POSTs, in the same run on the same machine. Both servers run as child
 * processes; the load generator (this process) is identical for both.
 *
 *   npm run bench -- webhook [--seconds 10] [--concurrency 32] [--rounds 2]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readClosedRecords } from "../test/helpers/data-files.js";
import { freePort } from "../test/helpers/free-port.js";
import { type LoadRequest, type LoadResult, percentile, runLoad } from "./_load.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const BARE = fileURLToPath(new URL("./_bare-express.ts", import.meta.url));
const SECRET = "bench-secret-0123456789";

export const usage = `npm run bench -- webhook [--seconds 10] [--concurrency 32] [--rounds 2]

Signed-webhook throughput and latency of the real serve (file sink) against a bare Express app, same machine, same run.
  --seconds N       length of each measured round (default 10)
  --concurrency N   requests in flight (default 32)
  --rounds N        rounds per server, alternating (default 2)`;

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
}

function makeRequests(n: number): LoadRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const id = 100_000 + i;
    const body = Buffer.from(
      JSON.stringify({
        response: {
          id,
          email: `user${id}@example.com`,
          external_id: `u-${id}`,
          score: i % 11,
          text: i % 3 ? null : `comment number ${i}`,
          ip_address: "203.0.113.7",
          origin_url: "https://app.example.com/settings",
          end_user_id: 400_000 + i,
          end_user_properties: { pricing_plan: ["Pro", "Enterprise", "Free"][i % 3], seats_amount: i % 50 },
          survey_id: 77_000 + i,
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
    const signature = `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}`;
    return { body, headers: { "content-type": "application/json", "x-wootric-signature": signature } };
  });
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function measure(
  name: string,
  cmd: string[],
  env: Record<string, string>,
  requests: LoadRequest[],
  seconds: number,
  concurrency: number,
) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, cmd.concat(name === "bare" ? [String(port)] : []), {
    env: { PATH: process.env.PATH ?? "", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    await waitHealthy(url, child);
    await runLoad({ url: `${url}/webhooks/wootric`, requests, concurrency, durationMs: 1000 }); // warm-up
    const result = await runLoad({ url: `${url}/webhooks/wootric`, requests, concurrency, durationMs: seconds * 1000 });
    return result;
  } finally {
    await stop(child);
  }
}

function pool(runs: LoadResult[]): LoadResult {
  return {
    requests: runs.reduce((a, r) => a + r.requests, 0),
    ok: runs.reduce((a, r) => a + r.ok, 0),
    failed: runs.reduce((a, r) => a + r.failed, 0),
    seconds: runs.reduce((a, r) => a + r.seconds, 0),
    latenciesMs: runs.flatMap((r) => r.latenciesMs),
  };
}

function summary(r: LoadResult) {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  return {
    rps: r.ok / r.seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ok: r.ok,
    failed: r.failed,
  };
}

export async function run(args: string[]): Promise<void> {
  const seconds = arg(args, "seconds", 10);
  const concurrency = arg(args, "concurrency", 32);
  const rounds = arg(args, "rounds", 2);
  const requests = makeRequests(1000);
  const dataDir = await mkdtemp(join(tmpdir(), "wf-bench-"));
  try {
    process.stdout.write(
      `webhook bench: ${rounds} rounds × ${seconds} s per server (each after 1 s warm-up), ${concurrency} concurrent keep-alive connections, ` +
        `${requests[0]!.body.length}-byte signed JSON bodies, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}\n`,
    );
    // Alternate the two servers (A B B A ...) so machine noise hits both alike; latencies and counts are pooled.
    const bareRuns: LoadResult[] = [];
    const serveRuns: LoadResult[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["bare", "serve"] as const) : (["serve", "bare"] as const);
      for (const which of order) {
        if (which === "bare")
          bareRuns.push(await measure("bare", ["--import", "tsx", BARE], {}, requests, seconds, concurrency));
        else
          serveRuns.push(
            await measure(
              "serve",
              [CLI, "serve"],
              { DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: SECRET, LOG_LEVEL: "warn" },
              requests,
              seconds,
              concurrency,
            ),
          );
      }
    }
    const bare = summary(pool(bareRuns));
    const serve = summary(pool(serveRuns));
    const stored = (await readClosedRecords(dataDir)).length;

    const row = (n: string, s: ReturnType<typeof summary>) =>
      `| ${n.padEnd(36)} | ${s.rps.toFixed(0).padStart(8)} | ${s.p50.toFixed(2).padStart(7)} | ${s.p99.toFixed(2).padStart(7)} | ${String(s.failed).padStart(6)} |\n`;
    process.stdout.write(
      "\n| server                               |    req/s | p50 ms  | p99 ms  | non-2xx |\n|---|---:|---:|---:|---:|\n",
    );
    process.stdout.write(row("bare Express (reads body, 200)", bare));
    process.stdout.write(row("serve (verify, parse, gzip, fsync)", serve));
    process.stdout.write(
      `\nratios serve/bare: throughput ${(serve.rps / bare.rps).toFixed(2)}×, p50 latency ${(serve.p50 / bare.p50).toFixed(2)}×, p99 latency ${(serve.p99 / bare.p99).toFixed(2)}×\n`,
    );
    process.stdout.write(
      `records in closed gzip files after serve shut down: ${stored} (measured 2xx answers: ${serve.ok}; warm-up requests add to the files)\n`,
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
