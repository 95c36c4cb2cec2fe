import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { monthEnd, monthOf, monthStart } from "../../src/state/version-map.js";
import { CLI_PATH } from "../helpers/cli.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { type FakeRecord, FakeWootric } from "../helpers/fake-wootric.js";

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, killWhen?: () => boolean): Promise<Exit> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = killWhen
    ? setInterval(() => {
        if (killWhen()) {
          clearInterval(timer);
          child.kill("SIGKILL");
        }
      }, 10)
    : undefined;
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(guard);
      if (timer) clearInterval(timer);
      setTimeout(() => resolve({ code, signal, stdout, stderr }), 50);
    });
  });
}

/** The reconciliation progress in the responses bookmark, read the way an operator would. */
function progressOf(stateDir: string): { through: number } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(stateDir, "bookmarks", "responses.json"), "utf8")).reconcile;
  } catch {
    return undefined;
  }
}

describe("sync --once --full (built CLI against the fake Wootric API)", () => {
  let fake: FakeWootric;
  let dir: string;
  const now = Math.floor(Date.now() / 1000);
  const first = monthStart(monthOf(now - 300 * 86_400));
  const records: FakeRecord[] = [];
  before(async () => {
    fake = await new FakeWootric().start();
    dir = mkdtempSync(path.join(tmpdir(), "wf-reconcile-e2e-"));
    for (let i = 0; i < 3000; i += 1) records.push(fake.addResponse(first + i * 8000));
  });
  after(async () => {
    fake.beforeList = undefined;
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("SIGKILL midway through a reconciliation, then a rerun: it resumes and sends each tombstone once", async () => {
    const dataDir = path.join(dir, "data");
    const stateDir = path.join(dir, "state");
    const env = { ...fake.env(), DATA_DIR: dataDir, STATE_URL: stateDir, SYNC_SETTLE_SECONDS: "0", LOOKBACK_DAYS: "0" };
    const sync = await runCli(["sync", "--once", "--streams", "responses"], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /^responses: 3000 records/m);

    // Deletions in the second month and in the last months.
    const m2 = monthEnd(monthOf(first));
    const late = monthStart(monthOf(now - 40 * 86_400));
    const early = records.filter((r) => r.created >= m2 + 86_400).slice(0, 4);
    const lateGone = records.filter((r) => r.created >= late + 86_400).slice(0, 3);
    for (const r of [...early, ...lateGone]) fake.remove("responses", r.id);

    // 100 ms a page (~6 s for the whole history): the kill lands once the month of the early deletions is settled
    // (its tombstones sent and the progress saved right after them), long before the late ones are read.
    fake.beforeList = async () => {
      await new Promise((r) => setTimeout(r, 100));
    };
    const killAt = monthEnd(monthOf(early[0]!.created));
    const killed = await runCli(["sync", "--once", "--full", "--streams", "responses"], env, () => {
      const p = progressOf(stateDir);
      return p !== undefined && p.through >= killAt;
    });
    assert.equal(killed.signal, "SIGKILL", killed.stdout + killed.stderr);
    const through = progressOf(stateDir)!.through;
    assert.ok(through < late, "killed before the late deletions were read");

    fake.beforeList = undefined;
    // A page the killed process had asked for is still answered (and logged) after its death: let it finish first.
    while (fake.inflight > 0) await new Promise((r) => setTimeout(r, 10));
    const logFrom = fake.log.length;
    const resumed = await runCli(["sync", "--once", "--full", "--streams", "responses"], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const firstQuery = fake.log.slice(logFrom).find((r) => r.path === "/v1/responses")!;
    assert.equal(Number(firstQuery.query.get("created[gte]")), through, "resumed at its last settled month");
    assert.match(resumed.stdout, /^responses: 0 records, 3 tombstones/m);

    const envelopes = (await readClosedRecords(dataDir)).map((r) => r.envelope);
    const tombstones = envelopes.filter((e) => e.deleted);
    assert.deepEqual(
      tombstones.map((e) => e.id).sort(),
      [...early, ...lateGone].map((r) => r.id).sort(),
      "exactly one tombstone per deleted response across the kill",
    );
    for (const t of tombstones) assert.equal(t.dedup_key, `response:${t.id}:deleted`);
    assert.equal(envelopes.filter((e) => e.entity === "response" && !e.deleted).length, 3000, "nothing re-sent");
    assert.equal(progressOf(stateDir), undefined, "the finished reconciliation cleared its progress");
  });

  test("--full belongs to sync: backfill refuses it with exit code 2", async () => {
    const res = await runCli(["backfill", "--since", "2026-01-01", "--full"], {
      ...fake.env(),
      DATA_DIR: path.join(dir, "usage"),
    });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--full belongs to sync/);
  });
});
