import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { startPollerSchedule } from "../../src/poller/schedule.js";
import { eventually } from "../helpers/eventually.js";
import { FakeWootric } from "../helpers/fake-wootric.js";
import { MemorySink } from "../helpers/memory-sink.js";

describe("poller schedule inside serve", () => {
  let fake: FakeWootric;
  const dir = mkdtempSync(path.join(tmpdir(), "wf-sched-"));
  before(async () => {
    fake = await new FakeWootric().start();
    fake.addResponse(Math.floor(Date.now() / 1000) - 3600);
    fake.segments = [{ name: "plan", data_type: "string", created: 1_700_000_000 }];
  });
  after(async () => {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("runs once right after start, exposes status and metrics, stops cleanly and releases the lease", async () => {
    // A cron that will not fire during the test: only the start-up run happens.
    const config = loadConfig({
      ...fake.env(),
      DATA_DIR: dir,
      STATE_URL: path.join(dir, "state"),
      POLL_CRON: "0 0 1 1 *",
    });
    const sink = new MemorySink();
    const metrics = new Metrics({ defaults: false });
    const handle = startPollerSchedule({ config, logger: silentLogger(), metrics, sink });
    await eventually(() => handle.status().lastRunAt, { timeoutMs: 15_000, intervalMs: 50, what: "the start-up run" });
    const status = handle.status();
    assert.ok(status.lastRunAt, "a run happened");
    assert.equal(status.ready, true);
    assert.equal(status.lastError, undefined);
    assert.equal(sink.ids("response").size, 1);
    assert.deepEqual([...sink.ids("segment")], ["plan"]);
    const text = (await metrics.render()).body;
    assert.match(text, /wootric_firehose_wootric_requests_total\{endpoint="\/v1\/responses",status="200"\} \d+/);
    assert.match(text, /wootric_firehose_poll_records_total\{stream="responses"\} 1/);
    assert.match(text, /wootric_firehose_poll_bookmark_lag_seconds\{stream="responses"\}/);
    await handle.stop();
    const lease = JSON.parse((await import("node:fs")).readFileSync(path.join(dir, "state", "lease.json"), "utf8")) as {
      expires_at: string;
    };
    assert.ok(Date.parse(lease.expires_at) < Date.now(), "lease released");
  });

  test("RECONCILE_CRON runs the full reconciliation after the sync going, never beside it", async () => {
    const state = path.join(dir, "state-reconcile");
    const config = loadConfig({
      ...fake.env(),
      DATA_DIR: dir,
      STATE_URL: state,
      POLL_CRON: "0 0 1 1 *",
      // Every second (node-schedule's six-field form): the first tick comes while the start-up sync may still run.
      RECONCILE_CRON: "* * * * * *",
    });
    const sink = new MemorySink();
    let concurrent = 0;
    let maxConcurrent = 0;
    const realWrite = sink.write.bind(sink);
    sink.write = async (envs) => {
      maxConcurrent = Math.max(maxConcurrent, (concurrent += 1));
      try {
        await realWrite(envs);
      } finally {
        concurrent -= 1;
      }
    };
    const handle = startPollerSchedule({
      config,
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      sink,
    });
    try {
      const deadline = Date.now() + 15_000;
      while (!handle.status().lastReconcileAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(handle.status().lastReconcileAt, "a full reconciliation ran");
      assert.equal(handle.status().lastError, undefined);
      assert.equal(maxConcurrent, 1, "never two runs writing at once");
      // The reconciliation found nothing the start-up sync had not delivered.
      assert.equal(sink.byEntity("response").length, 1);
      const doc = JSON.parse(
        (await import("node:fs")).readFileSync(path.join(state, "bookmarks", "responses.json"), "utf8"),
      );
      assert.ok(doc.reconciled_at);
    } finally {
      await handle.stop();
    }
  });

  test("an invalid POLL_CRON is refused with a message", () => {
    assert.throws(
      () => loadConfig({ ...fake.env(), DATA_DIR: dir, POLL_CRON: "every now and then" }),
      /POLL_CRON="every now and then": is not a valid cron expression/,
    );
    assert.throws(
      () => loadConfig({ ...fake.env(), DATA_DIR: dir, RECONCILE_CRON: "nightly" }),
      /RECONCILE_CRON="nightly": is not a valid cron expression \(or "off"\).*17 3/,
    );
    assert.equal(loadConfig({ DATA_DIR: dir }).poll.reconcileCron, "17 3 * * *");
    assert.equal(loadConfig({ DATA_DIR: dir, RECONCILE_CRON: "off" }).poll.reconcileCron, undefined);
  });
});
