import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { systemClock } from "../../src/common/clock.js";
import { Metrics } from "../../src/ops/metrics.js";
import { PollerMetrics } from "../../src/poller/poller-metrics.js";
import { type RunningCli, startServe } from "../helpers/cli.js";
import { assertEmfLine } from "../helpers/emf.js";
import { type FirehoseStub, startFirehoseStub, stubEnv } from "../helpers/firehose-stub.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const dirs: string[] = [];
const clis: RunningCli[] = [];
const stubs: FirehoseStub[] = [];
after(async () => {
  for (const c of clis) await c.stop("SIGKILL");
  for (const s of stubs) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every EMF document printed so far (stdout lines with an _aws member), each checked against the spec. */
function emfDocs(cli: RunningCli): Record<string, unknown>[] {
  return cli
    .output()
    .split("\n")
    .filter((l) => l.startsWith('{"_aws"'))
    .map((l) => assertEmfLine(l));
}

async function waitFor<T>(what: string, cli: RunningCli, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${cli.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("serve prints the silent failures as CloudWatch EMF metrics", () => {
  test("a blocked stream, a wrong webhook secret and a growing spool show up in the EMF lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wf-emf-"));
    dirs.push(dir);
    const stub = await startFirehoseStub({ streamName: "stub-stream" });
    stubs.push(stub);
    stub.setMode({ kind: "not_found" }); // a wrong stream name: every PutRecordBatch is refused
    const cli = await startServe({
      ...stubEnv(stub),
      FIREHOSE_STREAM_NAME: "stub-stream",
      SPOOL_DIR: join(dir, "spool"),
      DATA_DIR: dir,
      WOOTRIC_WEBHOOK_SECRET: "right-secret-0123456789",
      EMF_METRICS: "true",
      EMF_INTERVAL_SECONDS: "1",
      EMF_NAMESPACE: "WootricFirehoseTest",
      EMF_SERVICE_NAME: "emf-e2e",
      LOG_LEVEL: "warn",
    });
    clis.push(cli);
    assert.equal(
      (await postWebhook(cli.baseUrl, responseWebhook(1), { secret: "right-secret-0123456789" })).status,
      200,
    );
    assert.equal((await postWebhook(cli.baseUrl, responseWebhook(2), { secret: "wrong" })).status, 401);

    const total = (name: string, dims: Record<string, string> = {}) =>
      emfDocs(cli)
        .filter((d) => Object.entries(dims).every(([k, v]) => d[k] === v) && typeof d[name] === "number")
        .reduce((s, d) => s + (d[name] as number), 0);
    const latest = (name: string) =>
      emfDocs(cli)
        .filter((d) => typeof d[name] === "number")
        .at(-1)?.[name] as number | undefined;

    await waitFor("ProducerBlocked = 1", cli, () => (latest("ProducerBlocked") === 1 ? true : undefined));
    await waitFor("a 401 counted", cli, () => (total("WebhookRequests", { Status: "401" }) >= 1 ? true : undefined));
    assert.equal(total("SignatureFailures"), 1);
    assert.equal(total("WebhookRequests", { Status: "200" }), 1);
    assert.equal(latest("SpoolRecords"), 1);
    await waitFor("the spool's oldest record ages", cli, () =>
      (latest("SpoolOldestAgeSeconds") ?? 0) > 0 ? true : undefined,
    );
    for (const d of emfDocs(cli)) {
      assert.equal(d.Service, "emf-e2e");
      const ns = (d._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace;
      assert.equal(ns, "WootricFirehoseTest");
    }
    // every metric the Grafana dashboard queries exists on /metrics (the poller's ones are registered by PollerMetrics)
    const exposed = await (await fetch(`${cli.baseUrl}/metrics`)).text();
    const poller = new Metrics({ defaults: false });
    new PollerMetrics(poller, systemClock);
    const pollerText = (await poller.render()).body;
    const grafana = await readFile(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8");
    const names = new Set([...grafana.matchAll(/wootric_firehose_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, "")));
    assert.ok(names.size >= 10);
    for (const name of names)
      assert.ok(exposed.includes(`# TYPE ${name} `) || pollerText.includes(`# TYPE ${name} `), `${name} is exposed`);
    // /readyz says the producer cannot send at all
    const ready = await fetch(`${cli.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /ResourceNotFoundException/);
  });

  test("without EMF_METRICS nothing is printed on stdout", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wf-emf-off-"));
    dirs.push(dir);
    const cli = await startServe({ DATA_DIR: dir, LOG_LEVEL: "warn" });
    clis.push(cli);
    let stdout = "";
    cli.child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    assert.equal((await postWebhook(cli.baseUrl, responseWebhook(1), { secret: "x" })).status, 401);
    assert.equal(await cli.stop("SIGTERM"), 0);
    assert.equal(stdout, "");
  });
});
