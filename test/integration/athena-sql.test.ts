import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sqlParser from "node-sql-parser";
import { createLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { makeTombstone } from "../../src/records/envelope.js";
import { openFileSink } from "../../src/sink/file/open.js";
import { CLI_PATH, startServe } from "../helpers/cli.js";
import { type Lake, openLake } from "../helpers/duckdb-lake.js";
import { FakeWootric } from "../helpers/fake-wootric.js";
import { TERRAFORM_DIR } from "../helpers/terraform-config.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

/**
 * The SQL Terraform gives Athena (terraform/sql/views/*.sql as the current-state views, terraform/sql/queries/*.sql
 * as named queries), proven two ways: it parses as Trino SQL (node-sql-parser's trino grammar), and its logic runs in
 * DuckDB over files the real service landed: `serve` with the file sink receiving signed webhooks (superseded
 * versions, an old response arriving today, excluded and empty-comment responses, a CSAT response, a Sunday-evening
 * response in -08:00), `sync --once` polling the same responses from the fake Wootric API, and a tombstone written
 * through the file sink.
 */

const SQL_DIR = join(TERRAFORM_DIR, "sql");
const DAY = 86_400_000;
const SECRET = "sql-secret-sixteen-chars";

async function sqlFiles(sub: "views" | "queries"): Promise<{ name: string; sql: string }[]> {
  const dir = join(SQL_DIR, sub);
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  return Promise.all(
    names.map(async (n) => ({ name: n.replace(/\.sql$/, ""), sql: await readFile(join(dir, n), "utf8") })),
  );
}

describe("Athena SQL parses as Trino SQL", () => {
  const parser = new sqlParser.Parser();
  test("every view and example query", async () => {
    const files = [...(await sqlFiles("views")), ...(await sqlFiles("queries"))];
    assert.ok(files.length >= 9, `found ${files.length} SQL files`);
    for (const { name, sql } of files) {
      assert.doesNotThrow(() => parser.astify(sql, { database: "trino" }), `${name} is not valid Trino SQL`);
    }
  });

  test("the parser is a real check: a broken query is refused", () => {
    assert.throws(() => parser.astify("SELECT id, FROM responses_current WHERE", { database: "trino" }));
    assert.throws(() => parser.astify("SELECT count(* FROM responses_current", { database: "trino" }));
  });
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("Athena SQL over files landed by the real service (DuckDB)", { timeout: 120_000 }, () => {
  let work: string;
  let lake: Lake;
  let fake: FakeWootric;
  const now = Date.now();
  const dataDir = () => join(work, "data");

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "wf-athena-sql-"));
    fake = await new FakeWootric().start();

    // 1. Webhooks through `serve` with the file sink.
    const cli = await startServe({ DATA_DIR: dataDir(), WOOTRIC_WEBHOOK_SECRET: SECRET, LOG_LEVEL: "warn" });
    const hook = async (id: number, fields: Record<string, unknown>, wrapper: Record<string, unknown> = {}) => {
      const body = JSON.parse(responseWebhook(id, fields)) as Record<string, unknown>;
      const res = await postWebhook(cli.baseUrl, JSON.stringify({ ...body, ...wrapper }), { secret: SECRET });
      assert.equal(res.status, 200, res.body);
    };
    const at = (ms: number) => ({ created_at: iso(ms), updated_at: iso(ms) });
    // 101: answered 1, then changed to 10 a day later (the old version must not show anywhere)
    await hook(101, { ...at(now - 2 * DAY), score: 1, text: "awful" });
    await hook(101, { created_at: iso(now - 2 * DAY), updated_at: iso(now - DAY), score: 10, text: "great now" });
    // 102: a detractor; the poller will deliver the same version again
    await hook(102, { ...at(now - DAY + 1000), score: 3, text: "slow", email: "user102@example.com" });
    // 103: two years old, received today (what a first sync or backfill does)
    await hook(103, { ...at(now - 730 * DAY), score: 2, text: "old complaint" });
    // 104: excluded from calculations; 105: an empty comment
    await hook(104, { ...at(now - DAY), score: 0, text: "ignore me", excluded_from_calculations: true });
    await hook(105, { ...at(now - DAY), score: 4, text: "" });
    // 106: Sunday 2024-02-25 19:00 in -08:00 = Monday 03:00 UTC; 112: the Monday after; 107: a non-integer score
    await hook(106, {
      created_at: "2024-02-25T19:00:00.000-08:00",
      updated_at: "2024-02-25T19:00:00.000-08:00",
      score: 10,
    });
    await hook(112, {
      created_at: "2024-02-26T10:00:00.000-08:00",
      updated_at: "2024-02-26T10:00:00.000-08:00",
      score: 0,
    });
    await hook(107, {
      created_at: "2024-02-27T10:00:00.000-08:00",
      updated_at: "2024-02-27T10:00:00.000-08:00",
      score: 7.5,
    });
    // 108: a detractor that will be deleted in Wootric
    await hook(108, { ...at(now - DAY), score: 2, text: "delete me" });
    // 111: a CSAT survey response
    await hook(111, { ...at(now - DAY), score: 2, text: "csat complaint" }, { survey_mode: "CSAT" });
    assert.equal(await cli.stop("SIGTERM"), 0);

    // 2. The same account polled through `sync --once` (API dialect: whole seconds, end_user.email, no survey_mode).
    const sec = (ms: number) => Math.floor(ms / 1000);
    fake.add("responses", sec(now - DAY + 1000), {
      id: 102,
      score: 3,
      text: "slow",
      end_user: { email: "polled102@example.com", properties: {} },
      excluded_from_calculations: false,
    });
    fake.add("responses", sec(now - 3 * DAY), {
      id: 109,
      score: 5,
      text: "meh",
      end_user: { email: "polled109@example.com", properties: { Plan: "Pro", plan: "pro" } },
      excluded_from_calculations: false,
    });
    fake.add(
      "responses",
      sec(now - DAY),
      { id: 111, score: 2, text: "csat complaint, edited", excluded_from_calculations: false },
      sec(now - DAY / 2),
    );
    const sync = await runCli(["sync", "--once", "--streams", "responses"], {
      ...fake.env(),
      DATA_DIR: dataDir(),
      STATE_URL: join(work, "state"),
      SYNC_SETTLE_SECONDS: "0",
      LOG_LEVEL: "warn",
    });
    assert.equal(sync.code, 0, sync.out);
    assert.match(sync.out, /^responses: 3 records/m);

    // 3. A tombstone for 108 (as the poller's reconciliation writes one), through the file sink itself.
    const sink = await openFileSink({
      settings: { kind: "file", dataDir: dataDir(), rotateBytes: 1 << 20, rotateSeconds: 60 },
      logger: createLogger({ level: "error", format: "json" }),
      metrics: new Metrics({ defaults: false }),
    });
    const tombstone = makeTombstone("response", 108, {}, new Date());
    await sink.write([tombstone]);
    await sink.close(5000);

    lake = await openLake(dataDir());
  });

  after(async () => {
    lake?.close();
    await fake?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("the landed files hold every version: the raw table has duplicates and superseded rows", async () => {
    const rows = await lake.query("SELECT id, count(*) AS n FROM responses GROUP BY id ORDER BY id");
    const n = Object.fromEntries(rows.map((r) => [String(r.id), Number(r.n)]));
    assert.equal(n["101"], 2, "two versions of 101");
    assert.equal(n["102"], 2, "102 from the webhook and from the poller");
    assert.equal(n["108"], 2, "108 and its tombstone");
  });

  test("responses_current: one row per response, its latest version, tombstoned ids gone", async () => {
    const rows = await lake.query(
      "SELECT id, source, CAST(data.score AS integer) AS score, survey_mode, data.text AS text FROM responses_current ORDER BY id",
    );
    assert.deepEqual(
      rows.map((r) => Number(r.id)),
      [101, 102, 103, 104, 105, 106, 107, 109, 111, 112],
    );
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    assert.equal(byId.get(101)!.score, 10, "the superseded score 1 is gone");
    assert.equal(byId.get(102)!.source, "poll", "same version (same second): the later delivery, the API, wins");
    assert.equal(byId.get(111)!.text, "csat complaint, edited");
    assert.equal(byId.get(111)!.survey_mode, "CSAT", "the polled version keeps the survey mode its webhook had");
    assert.equal(byId.get(109)!.survey_mode, null, "never seen by a webhook: the API gives no survey mode");
  });

  test("every current-state view runs over the landed tables", async () => {
    for (const { name } of await sqlFiles("views")) await lake.query(`SELECT count(*) FROM ${name}`);
  });

  test("detractor comments of the last 7 days: created date, latest version, e-mail of polled responses", async () => {
    const sql = (await sqlFiles("queries")).find((q) => q.name === "detractor_comments_last_7_days")!.sql;
    const rows = await lake.query(sql);
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.score, r.comment, r.email]),
      [
        [102, 3, "slow", "polled102@example.com"],
        [109, 5, "meh", "polled109@example.com"],
      ],
    );
  });

  test("NPS by week buckets weeks in the named time zone and counts only integer NPS scores", async () => {
    const sql = (await sqlFiles("queries")).find((q) => q.name === "nps_by_week")!.sql;
    const rows = await lake.query(sql);
    const weeks = new Map(rows.map((r) => [String(r.week), r]));
    assert.equal(Number(weeks.get("2024-02-19")?.responses), 1, "Sunday evening in -08:00 belongs to its own week");
    assert.equal(Number(weeks.get("2024-02-19")?.nps), 100);
    assert.equal(Number(weeks.get("2024-02-26")?.responses), 1, "the 7.5 score is not counted");
    assert.equal(Number(weeks.get("2024-02-26")?.nps), -100);
    // 101, 102, 103, 105, 106, 109, 112: not 104 (excluded), 107 (7.5), 108 (deleted), 111 (CSAT), no duplicates
    assert.equal(
      rows.reduce((s, r) => s + Number(r.responses), 0),
      7,
    );
    // the same query bucketed in UTC puts both February responses in one week: the zone matters
    const utc = await lake.query(sql.replace("'America/Los_Angeles'", "'UTC'"));
    assert.equal(Number(utc.find((r) => String(r.week) === "2024-02-26")?.responses), 2);
  });

  test("response versions: one row per distinct version, the tombstone included", async () => {
    const sql = (await sqlFiles("queries")).find((q) => q.name === "response_versions")!.sql;
    const rows = await lake.query(sql);
    const of = (id: number) => rows.filter((r) => Number(r.id) === id);
    assert.equal(of(101).length, 2);
    assert.deepEqual(
      of(101).map((r) => r.score),
      [1, 10],
    );
    assert.equal(of(102).length, 1, "webhook and poller delivered the same version: one dedup_key");
    assert.equal(of(108).at(-1)!.deleted, true);
  });
});

describe("the version order's last tie-breaks (DuckDB over hand-made rows)", () => {
  test("same second and same received_at: the API beats a JSON webhook beats a form webhook; a tombstone placed by received_at", async () => {
    const empty = await mkdtemp(join(tmpdir(), "wf-athena-ties-"));
    const lake = await openLake(empty);
    try {
      const row = (id: number, source: string, ts: string | null, score: number, received: string, deleted = false) =>
        `(${id}, '${source}', 'response:${id}:x', ${deleted}, '${received}', '2024-03-05T18:15:00.000Z', ${
          deleted ? "NULL" : "'2024-03-05T18:15:31.000Z'"
        }, NULL, ${ts === null ? "NULL" : `'${ts}'`}, NULL, NULL, {'score': ${score}}, '2024-03-05')`;
      const at = "2024-03-05T18:16:00.000Z";
      await lake.query(
        `INSERT INTO responses (id, source, dedup_key, deleted, received_at, created_at, updated_at, event_name, "timestamp", account_token, survey_mode, data, dt) VALUES ${[
          row(1, "webhook", "2024-03-05 10:15:33 -0800", 1, at), // form
          row(1, "webhook", "2024-03-05T10:15:33.120-08:00", 2, at), // JSON
          row(2, "webhook", "2024-03-05 10:15:33 -0800", 1, at),
          row(2, "webhook", "2024-03-05T10:15:33.120-08:00", 2, at),
          row(2, "poll", null, 3, at),
          // 3: deleted after its last version arrived; 4: a tombstone received before a newer version
          row(3, "webhook", "2024-03-05T10:15:33.120-08:00", 5, at),
          row(3, "poll", null, 0, "2024-03-06T00:00:00.000Z", true),
          row(4, "poll", null, 0, "2024-03-05T18:15:00.000Z", true),
          row(4, "webhook", "2024-03-05T10:15:33.120-08:00", 6, "2024-03-05T18:15:40.000Z"),
        ].join(", ")}`,
      );
      const rows = await lake.query(
        "SELECT id, source, CAST(data.score AS integer) AS score FROM responses_current ORDER BY id",
      );
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.source, r.score]),
        [
          [1, "webhook", 2],
          [2, "poll", 3],
          [4, "webhook", 6],
        ],
      );
    } finally {
      lake.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
