import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { runDoctorChecks } from "../../src/commands/doctor.js";
import { loadConfig } from "../../src/config/index.js";
import { checkWootric } from "../../src/wootric/doctor-check.js";
import { FakeWootric } from "../helpers/fake-wootric.js";

let fake: FakeWootric;
const dir = mkdtempSync(path.join(tmpdir(), "wf-doctor-"));
before(async () => {
  fake = await new FakeWootric().start();
});
after(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

const POLLER_CHECKS = new Set(["wootric token", "wootric api", "state store", "poll schedule", "reconcile schedule"]);

test("doctor: token grant, one cheap read, state store write/read/delete, cron", async () => {
  const results = await runDoctorChecks(loadConfig({ ...fake.env(), DATA_DIR: dir }));
  assert.deepEqual(
    results.filter((r) => POLLER_CHECKS.has(r.name)).map((r) => [r.name, r.ok]),
    [
      ["wootric token", true],
      ["wootric api", true],
      ["state store", true],
      ["poll schedule", true],
      ["reconcile schedule", true],
    ],
  );
});

test("doctor: the next RECONCILE_CRON run is shown next to POLL_CRON's, or off", async () => {
  const on = await runDoctorChecks(loadConfig({ ...fake.env(), DATA_DIR: dir, RECONCILE_CRON: "17 3 * * *" }));
  const reconcile = on.find((r) => r.name === "reconcile schedule");
  assert.match(
    reconcile?.detail ?? "",
    /^RECONCILE_CRON "17 3 \* \* \*" \(UTC\), next run \d{4}-\d{2}-\d{2}T03:17:00\.000Z$/,
  );
  const off = await runDoctorChecks(loadConfig({ ...fake.env(), DATA_DIR: dir, RECONCILE_CRON: "off" }));
  const disabled = off.find((r) => r.name === "reconcile schedule");
  assert.equal(disabled?.ok, true);
  assert.match(disabled?.detail ?? "", /"off"/);
});

test("doctor: wrong credentials and an unwritable state store are reported clearly", async () => {
  // A state "directory" below a regular file cannot be created (ENOTDIR).
  const file = path.join(dir, "a-file");
  writeFileSync(file, "x");
  const results = await runDoctorChecks(
    loadConfig({ ...fake.env(), WOOTRIC_CLIENT_SECRET: "nope", DATA_DIR: dir, STATE_URL: path.join(file, "state") }),
  );
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  assert.equal(byName["wootric token"]?.ok, false);
  assert.match(byName["wootric token"]!.detail, /WOOTRIC_CLIENT_ID/);
  assert.ok(!byName["wootric token"]!.detail.includes("nope"), "secret not echoed");
  assert.equal(byName["state store"]?.ok, false);
  assert.equal(byName["poll schedule"]?.ok, true, "POLL_CRON itself is validated by loadConfig");
});

test("doctor: skipped without credentials", async () => {
  const results = await checkWootric(loadConfig({ DATA_DIR: dir }));
  assert.equal(results.length, 1);
  assert.equal(results[0]!.skipped, true);
  const all = await runDoctorChecks(loadConfig({ DATA_DIR: dir }));
  assert.ok(!all.some((r) => r.name === "state store" || r.name.endsWith(" schedule")), "no poller, no poller checks");
});
