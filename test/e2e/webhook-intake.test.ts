import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CLI_PATH, childEnv, startServe } from "../helpers/cli.js";
import { listFiles, readClosedRecords } from "../helpers/data-files.js";
import { postWebhook, responseWebhook, sign } from "../helpers/webhook.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-e2e-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("serve: webhook intake end to end (built CLI, real HTTP, gzip files)", () => {
  test("signed JSON and form webhooks land; 401/413/415 are refused and not stored; unparsable signed bodies become dead letters", async () => {
    const dataDir = await tempDir();
    const cli = await startServe({
      DATA_DIR: dataDir,
      WOOTRIC_WEBHOOK_SECRET: "old-secret-0123456789, new-secret-0123456789",
      WEBHOOK_MAX_BYTES: "4096",
    });
    try {
      const url = cli.baseUrl;
      assert.equal((await postWebhook(url, responseWebhook(1), { secret: "new-secret-0123456789" })).status, 200);
      assert.equal(
        (
          await postWebhook(url, responseWebhook(2), {
            secret: "old-secret-0123456789",
            contentType: "application/json; charset=utf-8",
          })
        ).status,
        200,
      );
      const form =
        "decline[id]=3&decline[end_user_id]=33&decline[end_user_properties][plan]=Pro&decline[updated_at]=2024-03-05%2010%3A16%3A21%20-0800&event_name=created&account_token=NPS-test";
      assert.equal(
        (
          await postWebhook(url, form, {
            secret: "new-secret-0123456789",
            contentType: "application/x-www-form-urlencoded",
          })
        ).status,
        200,
      );

      // Refused, never stored.
      assert.equal((await postWebhook(url, responseWebhook(101))).status, 401);
      assert.equal((await postWebhook(url, responseWebhook(102), { secret: "wrong" })).status, 401);
      assert.equal(
        (
          await postWebhook(url, responseWebhook(103), {
            signature: sign("new-secret-0123456789", responseWebhook(999)),
          })
        ).status,
        401,
      );
      const big = responseWebhook(104, { text: "x".repeat(5000) });
      assert.equal((await postWebhook(url, big, { secret: "new-secret-0123456789" })).status, 413);
      assert.equal(
        (await postWebhook(url, responseWebhook(105), { secret: "new-secret-0123456789", contentType: "text/plain" }))
          .status,
        415,
      );

      // Signed but unparsable, or no record inside: kept as dead letters and acknowledged.
      const garbage = '{"response": {"id": 7, oops';
      const dl = await postWebhook(url, garbage, { secret: "new-secret-0123456789" });
      assert.equal(dl.status, 200);
      assert.deepEqual(JSON.parse(dl.body), { stored: 1, dead_letters: 1 });
      assert.equal(
        (await postWebhook(url, '{"event_name":"created"}', { secret: "new-secret-0123456789" })).status,
        200,
      );

      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /wootric_firehose_http_requests_total\{route="\/webhooks\/wootric",status="401"\} 3/);
      assert.match(metrics, /wootric_firehose_webhook_signature_failures_total\{reason="missing"\} 1/);
      assert.match(metrics, /wootric_firehose_webhook_signature_failures_total\{reason="mismatch"\} 2/);
      assert.match(metrics, /wootric_firehose_webhook_records_written_total\{entity="response"\} 2/);
      assert.match(metrics, /wootric_firehose_webhook_records_written_total\{entity="decline"\} 1/);
      assert.match(metrics, /wootric_firehose_webhook_dead_letters_total\{kind="unparsable"\} 1/);
      assert.match(metrics, /wootric_firehose_webhook_dead_letters_total\{kind="no_record"\} 1/);
      assert.match(metrics, /wootric_firehose_webhook_bytes_received_total \d+/);
    } finally {
      assert.equal(await cli.stop("SIGTERM"), 0);
    }

    assert.ok(!(await listFiles(dataDir)).some((f) => f.endsWith(".open")), "every file closed on shutdown");
    const records = await readClosedRecords(dataDir);
    const byEntity = (e: string) => records.filter((r) => r.envelope.entity === e).map((r) => r.envelope);
    assert.deepEqual(
      byEntity("response")
        .map((e) => e.id)
        .sort(),
      [1, 2],
    );
    const resp = byEntity("response").find((e) => e.id === 1)!;
    assert.equal(resp.dedup_key, "response:1:1709662531");
    assert.equal(resp.event_name, "created");
    assert.equal(resp.source, "webhook");
    assert.equal(resp.data.score, 1);
    const decline = byEntity("decline")[0]!;
    assert.equal(decline.id, 3);
    assert.equal(decline.data.end_user_id, 33);
    const dead = byEntity("dead_letter");
    assert.equal(dead.length, 2);
    assert.ok(dead.some((d) => d.data.raw === '{"response": {"id": 7, oops' && /JSON/.test(String(d.data.reason))));
    for (const r of records)
      assert.match(r.file, new RegExp(`^entity=${r.envelope.entity}/dt=\\d{4}-\\d{2}-\\d{2}/part-[^/]+\\.json\\.gz$`));
    // zcat reads the closed files.
    const z = spawnSync("sh", ["-c", `zcat ${join(dataDir, "entity=response")}/dt=*/*.json.gz | wc -l`], {
      encoding: "utf8",
    });
    assert.equal(z.stdout.trim(), "2");
  });

  test("out of the box: a development secret is generated once (0600) and verifies webhooks", async () => {
    const dataDir = await tempDir();
    const first = await startServe({ DATA_DIR: dataDir });
    const secretPath = join(dataDir, "webhook-secret");
    const secret = (await readFile(secretPath, "utf8")).trim();
    assert.match(secret, /^[0-9a-f]{32}$/);
    assert.equal((await stat(secretPath)).mode & 0o777, 0o600);
    assert.match(first.output(), /WOOTRIC_WEBHOOK_SECRET is not set.*webhook-secret/);
    assert.doesNotMatch(first.output(), new RegExp(secret));
    assert.equal((await postWebhook(first.baseUrl, responseWebhook(5), { secret })).status, 200);
    assert.equal((await postWebhook(first.baseUrl, responseWebhook(6))).status, 401);
    assert.equal(await first.stop(), 0);
    const second = await startServe({ DATA_DIR: dataDir });
    assert.equal(
      (await postWebhook(second.baseUrl, responseWebhook(7), { secret })).status,
      200,
      "the same secret is reused",
    );
    assert.equal(await second.stop(), 0);
    assert.deepEqual((await readClosedRecords(dataDir)).map((r) => r.envelope.id).sort(), [5, 7]);
  });

  test("ALLOW_UNSIGNED_WEBHOOKS=true accepts unsigned requests with a loud warning; wrong signatures still fail", async () => {
    const dataDir = await tempDir();
    const cli = await startServe({ DATA_DIR: dataDir, ALLOW_UNSIGNED_WEBHOOKS: "true" });
    try {
      assert.match(cli.output(), /ALLOW_UNSIGNED_WEBHOOKS=true/);
      assert.equal((await postWebhook(cli.baseUrl, responseWebhook(8), { contentType: null })).status, 200);
      assert.equal((await postWebhook(cli.baseUrl, responseWebhook(9), { secret: "anything" })).status, 401);
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });

  test("the Firehose sink without WOOTRIC_WEBHOOK_SECRET is a configuration error (exit 2, names the variable)", async () => {
    const r = spawnSync(process.execPath, [CLI_PATH, "serve"], {
      env: { ...childEnv(), FIREHOSE_STREAM_NAME: "wootric", DATA_DIR: await tempDir(), PORT: "0" },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /WOOTRIC_WEBHOOK_SECRET is not set/);
    const bad = spawnSync(process.execPath, [CLI_PATH, "serve"], {
      env: { ...childEnv(), PORT: "http" },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /PORT="http"/);
  });

  test("answers 503 while the file sink cannot write, and 200 again once it can", async () => {
    const dataDir = await tempDir();
    const cli = await startServe({ DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: "e2e-test-secret-0123" });
    try {
      // A regular file where the partition directory must go: ENOTDIR even as root.
      await writeFile(join(dataDir, "entity=response"), "in the way");
      const res = await postWebhook(cli.baseUrl, responseWebhook(10), { secret: "e2e-test-secret-0123" });
      assert.equal(res.status, 503);
      assert.equal((await fetch(`${cli.baseUrl}/readyz`)).status, 503);
      await rm(join(dataDir, "entity=response"));
      assert.equal(
        (await postWebhook(cli.baseUrl, responseWebhook(11), { secret: "e2e-test-secret-0123" })).status,
        200,
      );
      assert.equal((await fetch(`${cli.baseUrl}/readyz`)).status, 200);
    } finally {
      assert.equal(await cli.stop(), 0);
    }
    assert.deepEqual(
      (await readClosedRecords(dataDir)).map((r) => r.envelope.id),
      [11],
    );
  });
});
