#!/usr/bin/env node
/**
 * Replays the Dockerfile without a Docker engine: reads its stages, runs the build stage's COPY and RUN steps in a
 * clean temporary copy (npm ci, build, prune), assembles the runtime stage from the build stage's output
 * (COPY --from=build), then starts the image's ENTRYPOINT + CMD from there with the image's ENV, waits for /healthz,
 * runs the image's HEALTHCHECK command and stops the process with the image's STOPSIGNAL, expecting a clean exit.
 *
 * Not replayed (they need root or the base image): the runtime stage's RUN (apt-get install tini, mkdir /data) and
 * tini itself. Node is the one running this script (.ci/run runs it with the image's Node version; with another one it
 * says so). Usage: node scripts/verify-docker-steps.mjs [--keep]
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();
const keep = process.argv.includes("--keep");
const log = (msg) => console.log(`[docker-steps ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const fail = (msg) => {
  console.error(`verify-docker-steps: FAILED: ${msg}`);
  process.exit(1);
};

// --- parse the Dockerfile into stages of instructions ---------------------------------------------------------------
function parseDockerfile(text) {
  const logical = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (current === "" && /^\s*#/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, " ");
      continue;
    }
    current += line;
    if (current.trim() !== "") logical.push(current.trim());
    current = "";
  }
  const args = {};
  const stages = [];
  for (const l of logical) {
    const m = /^(\w+)\s+(.*)$/s.exec(l);
    if (!m) continue;
    const op = m[1].toUpperCase();
    const rest = m[2].trim();
    if (op === "ARG" && stages.length === 0) {
      const [k, v] = rest.split("=");
      args[k] = v;
      continue;
    }
    if (op === "FROM") {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      stages.push({ image: fm[1].replace(/\$\{(\w+)\}/g, (_, k) => args[k] ?? ""), name: fm[2], steps: [] });
      continue;
    }
    if (!stages.length) fail(`instruction before FROM: ${l}`);
    stages.at(-1).steps.push({ op, rest });
  }
  return stages;
}

const jsonOrShell = (rest) => (rest.startsWith("[") ? JSON.parse(rest) : ["/bin/sh", "-c", rest]);

function dockerignorePatterns() {
  const file = join(root, ".dockerignore");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

function ignored(path, patterns) {
  const top = path.replace(/^\.\//, "").split("/")[0];
  return patterns.some(
    (p) =>
      p === top ||
      p === path ||
      (p.includes("*") && new RegExp(`^${p.replace(/\./g, "\\.").replace(/\*/g, ".*")}$`).test(top)),
  );
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// --- replay -----------------------------------------------------------------------------------------------------------
const stages = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
if (stages.length < 2) fail("expected a multi-stage Dockerfile");
const build = stages[0];
const runtime = stages.at(-1);
log(`stages: ${stages.map((s) => `${s.name ?? "?"} (${s.image})`).join(" → ")}`);
if (!/slim/.test(runtime.image)) fail(`runtime base ${runtime.image} is not a slim image`);
if (!/@sha256:[0-9a-f]{64}$/.test(runtime.image)) fail(`runtime base ${runtime.image} is not pinned by digest`);
const imageNode = /^node:(\d+\.\d+\.\d+)-/.exec(runtime.image)?.[1];
if (imageNode !== process.versions.node)
  log(`note: replaying with Node ${process.versions.node}; the image runs Node ${imageNode ?? "(unknown)"}`);

const work = mkdtempSync(join(tmpdir(), "wf-docker-steps-"));
const cleanup = () => {
  if (!keep) rmSync(work, { recursive: true, force: true });
};
process.on("exit", cleanup);
const patterns = dockerignorePatterns();
const stageDirs = {};
// WORKDIR is /app in both stages: /app/x and ./x both map to <stage dir>/x.
const mapPath = (dir, p) => {
  if (p.startsWith("/") && !p.startsWith("/app")) fail(`path outside /app: ${p}`);
  return join(dir, p.startsWith("/app") ? p.slice(4) : p);
};

// Build stage: WORKDIR /app is the stage directory.
const buildDir = join(work, "build");
mkdirSync(buildDir);
stageDirs[build.name] = buildDir;
for (const { op, rest } of build.steps) {
  if (op === "WORKDIR") {
    if (rest !== "/app") fail(`build WORKDIR ${rest}: only /app is supported`);
  } else if (op === "COPY") {
    const parts = rest.split(/\s+/).filter((p) => !p.startsWith("--"));
    const dest = parts.pop();
    for (const src of parts) {
      if (ignored(src, patterns)) fail(`COPY ${src} is excluded by .dockerignore`);
      const target =
        dest.endsWith("/") || parts.length > 1 ? join(buildDir, dest, src.split("/").pop()) : join(buildDir, dest);
      cpSync(join(root, src), target, { recursive: true });
    }
    log(`COPY ${rest}`);
  } else if (op === "RUN") {
    const cmd = rest.replace(/^(--\S+\s+)+/, "");
    log(`RUN ${cmd}`);
    const t = Date.now();
    const r = spawnSync("/bin/sh", ["-c", cmd], {
      cwd: buildDir,
      stdio: ["ignore", "inherit", "inherit"],
      // The image build has a cache mount for ~/.npm; here the local npm cache plays that role.
      env: { ...process.env, npm_config_prefer_offline: "true", npm_config_update_notifier: "false" },
    });
    if (r.status !== 0) fail(`RUN ${cmd} exited with ${r.status}`);
    log(`  done in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  }
}
const devLeft = ["typescript", "tsx", "@types/node"].filter((d) => existsSync(join(buildDir, "node_modules", d)));
if (devLeft.length) fail(`dev dependencies left after prune: ${devLeft.join(", ")}`);

// Runtime stage.
const runDir = join(work, "runtime");
mkdirSync(runDir);
const env = {};
let user = "root";
let healthcheck;
let entrypoint = [];
let cmd = [];
let stopSignal = "SIGTERM";
for (const { op, rest } of runtime.steps) {
  if (op === "COPY") {
    const from = /--from=(\S+)/.exec(rest)?.[1];
    if (!from) fail(`runtime COPY without --from: ${rest} (the runtime stage should only take the build output)`);
    const [src, dest] = rest.split(/\s+/).filter((p) => !p.startsWith("--"));
    cpSync(mapPath(stageDirs[from], src), mapPath(runDir, dest), { recursive: true });
    log(`COPY --from=${from} ${src} ${dest}`);
  } else if (op === "ENV") {
    for (const m of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, "");
  } else if (op === "USER") user = rest;
  else if (op === "HEALTHCHECK") healthcheck = JSON.parse(rest.slice(rest.indexOf("CMD") + 3).trim());
  else if (op === "ENTRYPOINT") entrypoint = jsonOrShell(rest);
  else if (op === "CMD") cmd = jsonOrShell(rest);
  else if (op === "STOPSIGNAL") stopSignal = rest;
  else if (op === "RUN") log(`(not replayed, needs root/base image) RUN ${rest.slice(0, 80)}...`);
}
if (user === "root" || user === "0") fail("the runtime stage runs as root");
if (!healthcheck) fail("no HEALTHCHECK");
if (!/\/healthz/.test(healthcheck.join(" "))) fail("HEALTHCHECK does not ask /healthz");

// ENTRYPOINT + CMD, without tini (not installed here), with /app mapped to the runtime copy.
const argv = [...entrypoint, ...cmd];
if (argv[0] === "/usr/bin/tini") argv.splice(0, argv.indexOf("--") + 1);
if (argv[0] !== "node") fail(`expected node after tini, got ${argv[0]}`);
const nodeArgs = argv.slice(1).map((a) => (a.startsWith("/app/") ? join(runDir, a.slice(5)) : a));

const port = await freePort();
const dataDir = join(work, "data");
const runEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...env,
  PORT: String(port),
  HOST: "127.0.0.1",
  DATA_DIR: dataDir,
};
log(`start: node ${nodeArgs.join(" ")} (USER ${user}, PORT ${port})`);
const child = spawn(process.execPath, nodeArgs, { cwd: runDir, env: runEnv, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));
const exited = new Promise((res) => child.once("exit", (code, signal) => res(code ?? signal)));

const deadline = Date.now() + 20_000;
for (;;) {
  if (child.exitCode !== null) fail(`the service exited early (${child.exitCode}):\n${output}`);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (res.ok) break;
  } catch {
    /* not listening yet */
  }
  if (Date.now() > deadline) {
    child.kill("SIGKILL");
    fail(`/healthz did not answer within 20 s:\n${output}`);
  }
  await new Promise((r) => setTimeout(r, 100));
}
log("/healthz answers 200");

const hc = spawnSync(healthcheck[0] === "node" ? process.execPath : healthcheck[0], healthcheck.slice(1), {
  env: runEnv,
  timeout: 5000,
});
if (hc.status !== 0) fail(`HEALTHCHECK command exited ${hc.status}: ${hc.stderr}`);
log("HEALTHCHECK command exits 0");

child.kill(stopSignal);
const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 25_000))]);
if (code !== 0) {
  child.kill("SIGKILL");
  fail(`after ${stopSignal} the service ended with ${code}:\n${output}`);
}
log(`${stopSignal} → clean exit 0`);
log(`OK in ${((Date.now() - started) / 1000).toFixed(1)}s`);
process.exit(0);
