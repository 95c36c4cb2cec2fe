import assert from "node:assert/strict";
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CLI_PATH } from "../helpers/cli.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { freePort } from "../helpers/free-port.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const SECRET = "cli-operator-test-secret";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-cli-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const baseEnv = () => ({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json" });

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI_PATH, ...args], {
    env: { ...baseEnv(), ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves once the combined output matches (rejects when the process exits first). */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | string>;
}

function spawnCli(args: string[], env: Record<string, string>, opts: SpawnOptions = {}): Spawned {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...opts,
  });
  let out = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) if (w.pattern.test(out)) w.resolve();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(out)) return resolve();
        const w = { pattern, resolve };
        waiters.push(w);
        void exited.then((code) => reject(new Error(`exited (${code}) before ${pattern}:\n${out}`)));
      }),
  };
}

describe("CLI: help for every command", () => {
  const cases: [string[], RegExp, string[]][] = [
    [["serve", "--help"], /^Usage: wootric-firehose serve/m, ["PORT", "HOST", "DATA_DIR", "FIREHOSE_STREAM_NAME"]],
    [["sync", "--help"], /^Usage: wootric-firehose sync --once/m, ["--once", "--streams"]],
    [["backfill", "-h"], /^Usage: wootric-firehose backfill --since/m, ["--since", "--until", "--streams"]],
    [["doctor", "--help"], /^Usage: wootric-firehose doctor/m, ["--help", "Exit codes"]],
    [["help", "sync"], /^Usage: wootric-firehose sync --once/m, ["--once"]],
  ];
  for (const [args, usage, flags] of cases) {
    test(`${args.join(" ")} prints the command's usage and flags, exit 0`, () => {
      const r = cli(args);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, usage);
      for (const f of flags) assert.ok(r.stdout.includes(f), `${f} in:\n${r.stdout}`);
      assert.equal(r.stderr, "");
    });
  }

  test("an unknown flag is a usage error that points at --help, not a raw parser message", () => {
    const r = cli(["sync", "--bogus"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^sync: unknown option --bogus; run "wootric-firehose sync --help" for the options$/m);
    const s = cli(["serve", "extra"]);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /serve takes no arguments.*wootric-firehose serve --help/);
  });

  test("npm run bench -- <name> --help prints the benchmark's flags and runs nothing; unknown flags are refused", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
        cwd: REPO,
        env: { ...baseEnv() },
        encoding: "utf8",
        timeout: 30_000,
      });
    const help = run(["webhook", "--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /npm run bench -- webhook/);
    for (const f of ["--seconds", "--concurrency", "--rounds"]) assert.ok(help.stdout.includes(f), f);
    const list = run(["--help"]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /firehose.*poller.*webhook|webhook/s);
    const bad = run(["poller", "--recods", "5"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option --recods/);
  });
});

describe("serve: what an operator sees", () => {
  test("a clickable URL at start, and one debug line per accepted webhook record", async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const s = spawnCli(["serve"], {
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      HOST: "0.0.0.0",
      LOG_LEVEL: "debug",
    });
    try {
      await s.waitFor(/listening on/);
      assert.match(
        s.output(),
        new RegExp(`"message":"listening on http://127\\.0\\.0\\.1:${port} \\(all interfaces, HOST=0\\.0\\.0\\.0\\)"`),
      );
      const res = await postWebhook(`http://127.0.0.1:${port}`, responseWebhook(42), { secret: SECRET });
      assert.equal(res.status, 200);
      await s.waitFor(/webhook record stored/);
      const line = s
        .output()
        .split("\n")
        .find((l) => l.includes("webhook record stored"));
      const entry = JSON.parse(line!) as Record<string, unknown>;
      assert.equal(entry.level, "debug");
      assert.equal(entry.entity, "response");
      assert.equal(entry.id, 42);
      assert.equal(entry.event_name, "created");
      assert.equal(typeof entry.dedup_key, "string");
    } finally {
      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0);
    }
  });

  test("Ctrl-C with the log pipe closed (npm start | jq, then jq exits): clean shutdown, exit 0, records durable", async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const s = spawnCli(["serve"], {
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      HOST: "127.0.0.1",
      FILE_ROTATE_SECONDS: "3600",
      LOG_LEVEL: "debug",
    });
    await s.waitFor(/listening on/);
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const id of ids) {
      assert.equal(
        (await postWebhook(`http://127.0.0.1:${port}`, responseWebhook(id), { secret: SECRET })).status,
        200,
      );
    }
    // The reader goes away: every later log write of the child fails with EPIPE.
    s.child.stdout?.destroy();
    s.child.stderr?.destroy();
    // A request after the close makes the child write (debug lines) into the dead pipe before the signal.
    assert.equal((await postWebhook(`http://127.0.0.1:${port}`, responseWebhook(21), { secret: SECRET })).status, 200);
    s.child.kill("SIGINT");
    assert.equal(await s.exited, 0);
    const stored = (await readClosedRecords(dataDir)).map((r) => Number(r.envelope.id)).sort((a, b) => a - b);
    assert.deepEqual(stored, [...ids, 21], "every acknowledged record is in a closed file");
  });
});

describe("serve: start-up failures name the setting to change (exit 2)", () => {
  let blocker: Server | undefined;
  after(() => blocker?.close());

  test("EADDRINUSE names PORT and HOST", async () => {
    const dataDir = await tempDir();
    blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker!.listen(0, "127.0.0.1", () => resolve((blocker!.address() as { port: number }).port)),
    );
    const r = cli(["serve"], {
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^wootric-firehose: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(EADDRINUSE\\)\\. Stop the other process listening there, or set PORT to a free port \\(e\\.g\\. PORT=${port + 1}\\)$`,
        "m",
      ),
    );
  });

  test("a HOST that is not an address of this machine, or does not resolve, names HOST", async () => {
    const dataDir = await tempDir();
    const env = { DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: SECRET, PORT: String(await freePort()) };
    const foreign = cli(["serve"], { ...env, HOST: "203.0.113.7" });
    assert.equal(foreign.status, 2, foreign.stderr);
    assert.match(
      foreign.stderr,
      /cannot listen on 203\.0\.113\.7:\d+: HOST=203\.0\.113\.7 is not an address of this machine \(EADDRNOTAVAIL\)\. Set HOST to one of its addresses, or to 0\.0\.0\.0 \(the default\) for all interfaces/,
    );
    const unknown = cli(["serve"], { ...env, HOST: "no-such-host.invalid" });
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /HOST=no-such-host\.invalid does not resolve to an address \((ENOTFOUND|EAI_AGAIN)\)/);
  });

  test("DATA_DIR the service cannot write (a root-owned bind mount) names the variable, the path and uid 1000", async () => {
    const parent = await tempDir();
    const dataDir = join(parent, "data");
    await mkdir(dataDir);
    // As root, run the CLI as uid 1000 (the Docker image's user) against a root-owned directory, as in a container
    // with a bind mount; as another user, take the write permission away instead.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chmod(parent, 0o755);
    else await chmod(dataDir, 0o555);
    const s = spawnCli(
      ["serve"],
      { DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: SECRET, PORT: String(await freePort()), HOST: "127.0.0.1" },
      asRoot ? { uid: 1000, gid: 1000 } : {},
    );
    assert.equal(await s.exited, 2, s.output());
    // Refused at start-up (configuration check) or when the sink opens, either way naming the variable and the path.
    assert.match(s.output(), /DATA_DIR=\S+: .*(not writable|permission denied)/);
    assert.ok(s.output().includes(dataDir), s.output());
    assert.match(s.output(), /uid 1000/);
    await chmod(dataDir, 0o755).catch(() => undefined);
  });
});
