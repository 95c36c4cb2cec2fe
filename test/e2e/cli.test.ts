import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CLI_PATH, childEnv } from "../helpers/cli.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI_PATH, ...args], {
    env: { ...childEnv(), LOG_FORMAT: "json", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("CLI", () => {
  test("--help lists the commands; unknown commands are usage errors", () => {
    const help = cli(["--help"]);
    assert.equal(help.status, 0);
    for (const c of ["serve", "sync --once", "backfill --since", "doctor"]) assert.ok(help.stdout.includes(c), c);
    const bad = cli(["frobnicate"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
    assert.equal(cli([]).status, 2);
  });

  test("doctor: one line per check, secrets never printed, exit 0 when everything that runs passes", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wf-doctor-"));
    dirs.push(dataDir);
    const r = cli(["doctor"], { DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: "very-secret-value,another-secret-one" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\[ ok \] config: .*file sink in/m);
    assert.match(r.stdout, /^\[ ok \] webhook secret: 2 secrets configured/m);
    assert.match(r.stdout, /^\[ ok \] DATA_DIR: .* is writable/m);
    assert.match(r.stdout, /^\[skip\] firehose:/m);
    assert.match(r.stdout, /^\[skip\] wootric:/m);
    assert.doesNotMatch(r.stdout + r.stderr, /very-secret-value|another-secret-one/);
  });

  test("doctor exits 1 when a check fails, 2 on a configuration error naming the variable", async () => {
    const parent = await mkdtemp(join(tmpdir(), "wf-doctor-"));
    dirs.push(parent);
    await writeFile(join(parent, "file"), "x");
    const r = cli(["doctor"], {
      DATA_DIR: join(parent, "data"),
      WOOTRIC_CLIENT_ID: "id",
      WOOTRIC_CLIENT_SECRET: "secret",
      WOOTRIC_API_URL: "http://127.0.0.1:1",
    });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /^\[FAIL\] wootric token:/m);
    const underFile = cli(["doctor"], { DATA_DIR: join(parent, "file", "data") });
    assert.equal(underFile.status, 2, underFile.stdout);
    assert.match(underFile.stderr, /DATA_DIR=.*not a directory/);
    const bad = cli(["doctor"], { WOOTRIC_REGION: "mars" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /WOOTRIC_REGION="mars": must be one of us, eu, au/);
  });
});
