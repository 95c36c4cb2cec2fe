import { spawn } from "node:child_process";
import http from "node:http";
import { createHmac } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
const stubProc = spawn(process.execPath, ["--import", "tsx", "bench/_tmp_stub.ts"], { stdio: ["ignore", "pipe", "inherit"] });
const endpoint: string = await new Promise((r) => stubProc.stdout!.once("data", (d) => r(String(d).trim())));
const dir = await mkdtemp(join(tmpdir(), "lat-"));
const port = 18000 + Math.floor(Math.random() * 1000);
const sinkEnv = process.env.FILE ? { DATA_DIR: dir } : { FIREHOSE_STREAM_NAME: "bench-stream", SPOOL_DIR: join(dir, "spool"), DATA_DIR: dir, FIREHOSE_MAX_BYTES_PER_SECOND: String(4 * 1024 * 1024) };
const cli = spawn(process.execPath, process.env.NAIVE ? ["--import", "tsx", "bench/_naive-producer.ts"] : [...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] : []), "dist/cli.js", "serve"], { env: { PATH: process.env.PATH, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y", AWS_ENDPOINT_URL_FIREHOSE: endpoint, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "error", WOOTRIC_WEBHOOK_SECRET: "s", ...sinkEnv }, stdio: "inherit" });
await new Promise((r) => setTimeout(r, 2500));
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const lat: number[] = [];
const body = Buffer.from(JSON.stringify({ response: { id: 1, score: 5, text: "x".repeat(600), created_at: "2024-03-05T10:15:02.558-08:00", updated_at: "2024-03-05T10:15:31.004-08:00" }, event_name: "created" }));
const sig = `sha1=${createHmac("sha1", "s").update(body).digest("hex")}`;
const start = performance.now(); let sent = 0; const ps: Promise<void>[] = []; let bad = 0;
const rate = Number(process.env.RATE ?? 1000);
while (performance.now() - start < 8000) {
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  while (sent < due) {
    sent++;
    const t0 = performance.now();
    ps.push(new Promise((res) => { const r = http.request({ host: "127.0.0.1", port, path: "/webhooks/wootric", method: "POST", agent, headers: { "content-type": "application/json", "x-wootric-signature": sig, "content-length": String(body.length) } }, (resp) => { resp.resume(); resp.on("end", () => { if (resp.statusCode !== 200) bad++; lat.push(performance.now() - t0); res(); }); }); r.end(body); }));
  }
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(ps);
lat.sort((a, b) => a - b);
console.log(process.env.FILE ? "file" : "firehose", "n", lat.length, "bad", bad, "p50", lat[Math.floor(lat.length / 2)]!.toFixed(2), "p90", lat[Math.floor(lat.length * 0.9)]!.toFixed(2), "p99", lat[Math.floor(lat.length * 0.99)]!.toFixed(2));
cli.kill("SIGTERM"); stubProc.kill();
