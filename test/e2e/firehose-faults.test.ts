import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type RunningCli, startServe } from "../helpers/cli.js";
import { eventually } from "../helpers/eventually.js";
import { type FirehoseStub, startFirehoseStub, stubEnv } from "../helpers/firehose-stub.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const SECRET = "fault-secret-0123456789";
const dirs: string[] = [];
const stubs: FirehoseStub[] = [];
const clis: RunningCli[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-firehose-e2e-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const c of clis) await c.stop("SIGKILL");
  for (const s of stubs) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function serveEnv(stub: FirehoseStub, dir: string): Record<string, string> {
  return {
    ...stubEnv(stub),
    FIREHOSE_STREAM_NAME: "stub-stream",
    SPOOL_DIR: join(dir, "spool"),
    DATA_DIR: dir,
    WOOTRIC_WEBHOOK_SECRET: SECRET,
    FIREHOSE_LINGER_MS: "20",
    SHUTDOWN_TIMEOUT_MS: "5000",
    LOG_LEVEL: "warn",
  };
}

/** Response ids delivered to the stub (duplicates allowed and counted). */
function deliveredIds(stub: FirehoseStub): Map<number, number> {
  const seen = new Map<number, number>();
  for (const line of stub.lines) {
    const env = JSON.parse(line) as { entity: string; id: number };
    if (env.entity === "response") seen.set(env.id, (seen.get(env.id) ?? 0) + 1);
  }
  return seen;
}

/** Waits until every acknowledged id reached the stub; returns the ones still missing after `ms` (none, normally). */
async function waitDelivered(stub: FirehoseStub, acked: Set<number>, ms: number): Promise<number[]> {
  const missing = () => {
    const seen = deliveredIds(stub);
    return [...acked].filter((id) => !seen.has(id));
  };
  await eventually(() => missing().length === 0, { timeoutMs: ms, intervalMs: 50, what: "delivery" }).catch(
    () => undefined,
  );
  return missing();
}

/** Polls until `pred` holds; fails the test instead of hanging when the CLI stops making progress. */
async function waitFor(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  await eventually(pred, { timeoutMs: ms, intervalMs: 5, what });
}

/** Sends webhooks with `concurrency` workers until `stop()`; records which ids got a 2xx. */
function sender(baseUrl: () => string, concurrency: number, firstId: number) {
  const acked = new Set<number>();
  let refused = 0;
  let next = firstId;
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const id = next++;
      try {
        const res = await postWebhook(baseUrl(), responseWebhook(id), { secret: SECRET });
        if (res.status >= 200 && res.status < 300) acked.add(id);
        else refused++;
      } catch {
        refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const running = Array.from({ length: concurrency }, worker);
  return {
    acked,
    refusedCount: () => refused,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

describe("firehose sink under faults (real CLI against a local Firehose stub)", { timeout: 120_000 }, () => {
  test("an outage of several seconds mid-stream: every acknowledged webhook is delivered afterwards", async () => {
    const dir = await tempDir();
    const stub = await startFirehoseStub({ streamName: "stub-stream" });
    stubs.push(stub);
    stub.setEntryFailureRate(0.05); // partial failures throughout, too
    const cli = await startServe(serveEnv(stub, dir));
    clis.push(cli);

    const s = sender(() => cli.baseUrl, 6, 1);
    await waitFor(() => s.acked.size >= 100, "100 acknowledged webhooks");
    stub.setMode({ kind: "unavailable" });
    const outageStart = Date.now();
    const ackedBefore = s.acked.size;
    await new Promise((r) => setTimeout(r, 1500));
    // during the outage intake keeps answering 2xx (the spool absorbs it) and /readyz stays green
    const ready = await fetch(`${cli.baseUrl}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    await new Promise((r) => setTimeout(r, 2500));
    stub.setMode({ kind: "ok" });
    const outageMs = Date.now() - outageStart;
    assert.ok(s.acked.size > ackedBefore + 50, "webhooks were acknowledged during the outage");
    await waitFor(() => s.acked.size >= ackedBefore + 250, "250 more acknowledged webhooks");
    await s.stop();

    const missing = await waitDelivered(stub, s.acked, 30_000);
    assert.deepEqual(missing, [], `acknowledged but never delivered (of ${s.acked.size})`);
    assert.ok(stub.stats.errors > 0 && outageMs >= 3500, "the outage really happened");
    assert.ok(stub.stats.failedEntries > 0, "partial failures really happened");

    const metrics = await (await fetch(`${cli.baseUrl}/metrics`)).text();
    assert.match(metrics, /wootric_firehose_producer_request_errors_total\{code="ServiceUnavailableException"\} [1-9]/);
    assert.match(metrics, /wootric_firehose_spool_records 0/);
    assert.equal(await cli.stop("SIGTERM"), 0);
  });

  test("SIGKILL mid-stream, restart on the same spool: every acknowledged webhook is delivered", async () => {
    const dir = await tempDir();
    const stub = await startFirehoseStub({ streamName: "stub-stream" });
    stubs.push(stub);
    const env = serveEnv(stub, dir);
    let cli = await startServe(env);
    clis.push(cli);
    const s = sender(() => cli.baseUrl, 8, 1);
    await waitFor(() => s.acked.size >= 80, "80 acknowledged webhooks");
    // Firehose stops answering: what is acknowledged from now on lives only in the spool
    stub.setMode({ kind: "hang" });
    const ackedAtHang = s.acked.size;
    await waitFor(() => s.acked.size >= ackedAtHang + 120, "120 webhooks acknowledged while Firehose hangs");
    cli.child.kill("SIGKILL");
    await cli.exited;
    await s.stop();
    const ackedFirstRun = new Set(s.acked);
    assert.ok(ackedFirstRun.size >= 200);
    const beforeRestart = deliveredIds(stub);
    const pending = [...ackedFirstRun].filter((id) => !beforeRestart.has(id));
    assert.ok(pending.length >= 100, `records only in the spool at the crash: ${pending.length}`);

    stub.setMode({ kind: "ok" });
    cli = await startServe({ ...env, PORT: String(cli.port) });
    clis.push(cli);
    const s2 = sender(() => cli.baseUrl, 4, 100_000);
    await waitFor(() => s2.acked.size >= 50, "50 acknowledged webhooks after the restart");
    await s2.stop();

    const all = new Set([...ackedFirstRun, ...s2.acked]);
    const missing = await waitDelivered(stub, all, 30_000);
    assert.deepEqual(missing, [], `acknowledged but never delivered (of ${all.size})`);
    assert.equal(await cli.stop("SIGTERM"), 0);
  });

  test("a missing stream: /readyz reports it, webhooks are still spooled, and they drain once the stream exists", async () => {
    const dir = await tempDir();
    const stub = await startFirehoseStub({ streamName: "stub-stream" });
    stubs.push(stub);
    stub.setMode({ kind: "not_found" });
    const cli = await startServe(serveEnv(stub, dir));
    clis.push(cli);
    const acked = new Set<number>();
    for (let id = 1; id <= 20; id++) {
      const res = await postWebhook(cli.baseUrl, responseWebhook(id), { secret: SECRET });
      if (res.status === 200) acked.add(id);
    }
    assert.equal(acked.size, 20);
    const body = await eventually(
      async () => {
        const res = await fetch(`${cli.baseUrl}/readyz`);
        const text = await res.text();
        return res.status === 503 ? text : undefined;
      },
      { timeoutMs: 5000, intervalMs: 50, what: "/readyz to answer 503" },
    );
    assert.match(body, /ResourceNotFoundException/);
    assert.match(cli.output(), /FIREHOSE STREAM UNUSABLE/);
    // the stream "appears"; the blocked retry period is ~30 s in production, so shut down and restart instead
    stub.setMode({ kind: "ok" });
    assert.equal(await cli.stop("SIGTERM"), 0);
    const again = await startServe(serveEnv(stub, dir));
    clis.push(again);
    const missing = await waitDelivered(stub, acked, 15_000);
    assert.deepEqual(missing, []);
    assert.equal(await again.stop("SIGTERM"), 0);
  });
});
