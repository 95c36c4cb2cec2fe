import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startServe } from "../helpers/cli.js";
import { listFiles, readClosedRecords } from "../helpers/data-files.js";
import { eventually } from "../helpers/eventually.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-e2e-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("serve: shutdown and crash", () => {
  test("SIGTERM during traffic: every 2xx'd record is in a closed file and the process exits 0", async () => {
    const dataDir = await tempDir();
    const cli = await startServe({ DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: "e2e-test-secret-0123" });
    const acknowledged = new Set<number>();
    let nextId = 1;
    let stopSending = false;
    let failures = 0;
    const worker = async () => {
      while (!stopSending) {
        const id = nextId++;
        try {
          const res = await postWebhook(cli.baseUrl, responseWebhook(id), { secret: "e2e-test-secret-0123" });
          if (res.status === 200) acknowledged.add(id);
          else failures++;
        } catch {
          failures++; // connection refused or closed once the server stops accepting
          if (cli.child.exitCode !== null) return;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    try {
      await eventually(() => acknowledged.size >= 200, { timeoutMs: 20_000, what: "200 acknowledged webhooks" });
    } catch (err) {
      stopSending = true;
      await cli.stop("SIGKILL");
      assert.fail(`${(err as Error).message}: only ${acknowledged.size} (${failures} failures):\n${cli.output()}`);
    }
    const code = cli.stop("SIGTERM");
    assert.equal(await code, 0);
    stopSending = true;
    await Promise.all(workers);

    assert.ok(acknowledged.size >= 200);
    const files = await listFiles(dataDir);
    assert.ok(!files.some((f) => f.endsWith(".open")), `no open files left: ${files.join(", ")}`);
    const stored = new Set((await readClosedRecords(dataDir)).map((r) => Number(r.envelope.id)));
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `acknowledged but not stored (of ${acknowledged.size}, ${failures} refused)`);
    assert.match(cli.output(), /shutdown complete/);
  });

  test("SIGKILL: acknowledged records in the crashed open file are finalised and readable on the next start", async () => {
    const dataDir = await tempDir();
    const first = await startServe({
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: "e2e-test-secret-0123",
      FILE_ROTATE_SECONDS: "3600",
    });
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    await Promise.all(
      ids.map(async (id) =>
        assert.equal(
          (await postWebhook(first.baseUrl, responseWebhook(id), { secret: "e2e-test-secret-0123" })).status,
          200,
        ),
      ),
    );
    assert.equal(await first.stop("SIGKILL"), "SIGKILL");
    assert.ok(
      (await listFiles(dataDir)).some((f) => f.endsWith(".json.gz.open")),
      "the crash left an open file",
    );

    const second = await startServe({ DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: "e2e-test-secret-0123" });
    assert.match(second.output(), /finalised a file left open by an earlier run/);
    // Readable while the second process runs: the recovered file is a complete gzip file.
    const stored = (await readClosedRecords(dataDir)).map((r) => Number(r.envelope.id)).sort((a, b) => a - b);
    assert.deepEqual(stored, ids);
    assert.equal(await second.stop(), 0);
  });
});
