import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI_PATH, childEnv } from "../helpers/cli.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { FakeWootric } from "../helpers/fake-wootric.js";

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, opts: { killWhen?: () => boolean } = {}): Promise<Exit> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...childEnv(), HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  if (opts.killWhen) {
    timer = setInterval(() => {
      if (opts.killWhen!()) {
        clearInterval(timer);
        child.kill("SIGKILL");
      }
    }, 10);
  }
  const guard = setTimeout(() => child.kill("SIGKILL"), 45_000);
  return new Promise((resolve) => {
    // "close", not "exit": it comes once stdout and stderr have been read to the end.
    child.once("close", (code, signal) => {
      clearTimeout(guard);
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("wootric-firehose sync / backfill (built CLI against the fake Wootric API)", () => {
  let fake: FakeWootric;
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(path.join(tmpdir(), "wf-sync-e2e-"));
    dirs.push(d);
    return d;
  };
  const now = Math.floor(Date.now() / 1000);
  before(async () => {
    fake = await new FakeWootric().start();
    for (let i = 0; i < 3000; i += 1) fake.addResponse(now - 5 * 86_400 + i * 60);
    for (let i = 0; i < 40; i += 1) fake.addResponse(now - 86_400); // a crowded second
    fake.segments = [{ name: "plan", data_type: "string", created: now - 86_400 }];
  });
  after(async () => {
    await fake.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("sync --once writes every record to the file sink and exits 0", async () => {
    const dir = temp();
    const env = {
      ...fake.env(),
      DATA_DIR: path.join(dir, "data"),
      STATE_URL: path.join(dir, "state"),
      SYNC_SETTLE_SECONDS: "0",
    };
    const res = await runCli(["sync", "--once", "--streams", "responses,segments"], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^responses: 3040 records, bookmark /m);
    assert.match(res.stdout, /^segments: 1 records/m);
    const records = await readClosedRecords(path.join(dir, "data"));
    const ids = new Set(records.filter((r) => r.envelope.entity === "response").map((r) => String(r.envelope.id)));
    assert.equal(ids.size, 3040);
    assert.ok(records.every((r) => r.envelope.source === "poll"));
    assert.ok(!res.stderr.includes(fake.clientSecret), "the client secret never reaches the logs");
    // Idle re-run: nothing new.
    const again = await runCli(["sync", "--once", "--streams", "responses"], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^responses: 0 records/m);
  });

  test("a sync killed with SIGKILL mid-way resumes from its bookmark and loses nothing", async () => {
    const dir = temp();
    const env = {
      ...fake.env(),
      DATA_DIR: path.join(dir, "data"),
      STATE_URL: path.join(dir, "state"),
      SYNC_SETTLE_SECONDS: "0",
      LOOKBACK_DAYS: "0",
    };
    // Slow the API down (100 ms a page, ~6 s in all) so the kill lands mid-sync, after the first bookmark write
    // (bookmarks are written at most every 5 s during a stream).
    fake.beforeList = async () => {
      await new Promise((r) => setTimeout(r, 100));
    };
    try {
      const bookmark = path.join(dir, "state", "bookmarks", "responses.json");
      const killed = await runCli(["sync", "--once", "--streams", "responses"], env, {
        killWhen: () => existsSync(bookmark),
      });
      assert.equal(killed.signal, "SIGKILL");
      fake.beforeList = undefined;
      const resumed = await runCli(["sync", "--once", "--streams", "responses"], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const ids = new Set(
        (await readClosedRecords(path.join(dir, "data")))
          .filter((r) => r.envelope.entity === "response")
          .map((r) => String(r.envelope.id)),
      );
      assert.equal(ids.size, 3040, "every response is in S3-bound files after the crash and the resume");
      const written = Number(/^responses: (\d+) records/m.exec(resumed.stdout)?.[1]);
      assert.ok(written < 3040, `the resumed run started from the bookmark, not from scratch (${written})`);
    } finally {
      fake.beforeList = undefined;
    }
  });

  test("backfill --since/--until re-reads a range; bad arguments exit 2", async () => {
    const dir = temp();
    const env = { ...fake.env(), DATA_DIR: path.join(dir, "data"), STATE_URL: path.join(dir, "state") };
    const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);
    const res = await runCli(
      ["backfill", "--since", day(now - 3 * 86_400), "--until", day(now - 2 * 86_400), "--streams", "responses"],
      env,
    );
    assert.equal(res.code, 0, res.stderr);
    const since = Date.parse(`${day(now - 3 * 86_400)}T00:00:00Z`) / 1000;
    const expected = [...fake.lists.responses.values()].filter(
      (r) => r.created >= since && r.created < since + 86_400,
    ).length;
    assert.match(res.stdout, new RegExp(`^responses: ${expected} records`, "m"));

    assert.equal((await runCli(["backfill", "--streams", "responses"], env)).code, 2);
    assert.equal((await runCli(["backfill", "--since", "2026-02-30"], env)).code, 2);
    const unknown = await runCli(["sync", "--once", "--streams", "nope"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /valid streams: end_users, responses/);
    const noOnce = await runCli(["sync", "--streams", "responses"], env);
    assert.equal(noOnce.code, 2, noOnce.stdout + noOnce.stderr);
    assert.match(
      noOnce.stderr,
      /^sync: add --once to run one sync and exit \(serve runs the poller on schedule: POLL_CRON/m,
    );
    assert.equal(noOnce.stdout, "");
    const noOnceFull = await runCli(["sync", "--full"], env);
    assert.equal(noOnceFull.code, 2);
    assert.match(noOnceFull.stderr, /sync: add --once/);
    const noCreds = await runCli(["sync", "--once"], { DATA_DIR: path.join(dir, "data") });
    assert.equal(noCreds.code, 2);
    assert.match(noCreds.stderr, /WOOTRIC_CLIENT_ID/);
  });

  test("sync against an unreachable API fails with exit code 1", async () => {
    const dir = temp();
    const res = await runCli(["sync", "--once", "--streams", "segments"], {
      ...fake.env(),
      WOOTRIC_CLIENT_SECRET: "wrong",
      DATA_DIR: path.join(dir, "data"),
      STATE_URL: path.join(dir, "state"),
    });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /segments: FAILED WootricAuthError/);
  });
});
