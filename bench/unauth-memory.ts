/**
 * Peak memory of `serve` under unauthenticated load: N concurrent uploads of SIZE bytes with a wrong signature, all
 * started at once, each sending all but its last byte and then stalling (what an attacker does to hold memory).
 * Reads the child's VmHWM (peak RSS) from /proc once memory stops growing. `--cli path/to/dist/cli.js` measures
 * another build (e.g. the commit before the limits) in the same way.
 *
 *   npm run bench -- unauth-memory [--uploads 1000] [--mib 1] [--cli dist/cli.js]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
}

function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Sends all but the last byte and stalls; settles with the status if the server answers, else "stalled". */
function stalledUpload(port: number, body: Buffer): { answer: Promise<string>; sent: Promise<void>; abort(): void } {
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/webhooks/wootric",
    agent: false,
    headers: {
      "content-type": "application/json",
      "content-length": String(body.length),
      "x-wootric-signature": "sha1=0000000000000000000000000000000000000000",
    },
  });
  const answer = new Promise<string>((resolve) => {
    req.on("response", (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    req.on("close", () => resolve("stalled"));
  });
  const sent = new Promise<void>((resolve) => {
    req.write(body.subarray(0, body.length - 1), () => resolve());
    answer.then(() => resolve());
  });
  return { answer, sent, abort: () => req.destroy() };
}

export async function run(args: string[]): Promise<void> {
  const uploads = Number(arg(args, "uploads", "1000"));
  const size = Number(arg(args, "mib", "1")) * 1024 * 1024;
  const cli = arg(args, "cli", fileURLToPath(new URL("../dist/cli.js", import.meta.url)));
  const dataDir = await mkdtemp(join(tmpdir(), "wf-bench-mem-"));
  const port = await freePort();
  const child = spawn(process.execPath, [cli, "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: "bench-secret-0123456789abcdef",
      WEBHOOK_MAX_BYTES: String(size + 1024),
      LOG_LEVEL: "error",
      LOG_FORMAT: "json",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        if (i > 400) throw new Error("serve did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const idle = memoryOf(child.pid!);
    const body = Buffer.alloc(size, 0x20);
    const started = Date.now();
    const ups = Array.from({ length: uploads }, () => stalledUpload(port, body));
    await Promise.all(ups.map((u) => u.sent));
    // Memory settles once every accepted body is buffered: sample until it stops growing for 2 s (at most 20 s).
    let peak = memoryOf(child.pid!).peakMiB;
    let lastGrowth = Date.now();
    while (Date.now() - lastGrowth < 2_000 && Date.now() - started < 20_000) {
      await new Promise((r) => setTimeout(r, 250));
      const now = memoryOf(child.pid!).peakMiB;
      if (now > peak + 1) lastGrowth = Date.now();
      peak = Math.max(peak, now);
    }
    for (const u of ups) u.abort();
    const statuses = await Promise.all(ups.map((u) => u.answer));
    const counts = new Map<string, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    console.log(`cli: ${cli}`);
    console.log(
      `${uploads} concurrent unauthenticated uploads of ${size / 1024 / 1024} MiB, each stalled before its last byte`,
    );
    console.log(`answers: ${[...counts].map(([s, n]) => `${s}×${n}`).join(", ")}`);
    console.log(`RSS idle ${idle.rssMiB.toFixed(0)} MiB, peak under the load ${peak.toFixed(0)} MiB`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(dataDir, { recursive: true, force: true });
  }
}
