import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { describeConfig, formatCheck } from "../../src/commands/doctor.js";
import { loadConfig } from "../../src/config/index.js";
import type { Logger } from "../../src/log.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { createApp } from "../../src/webhook/app.js";
import { DEV_SECRET_FILE, ensureDevSecret } from "../../src/webhook/dev-secret.js";
import { WootricClient } from "../../src/wootric/client.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function capture(): { logger: Logger; lines: { level: string; message: string; meta: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, meta: Record<string, unknown> = {}) =>
      lines.push({ level, message, meta });
  return {
    logger: { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } as unknown as Logger,
    lines,
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("smaller leaks", () => {
  test("rejected requests: every one counted, at most one log line per interval saying how many were suppressed", async () => {
    const { logger, lines } = capture();
    const metrics = new Metrics({ defaults: false });
    const app = createApp({
      sink: new MemorySink(),
      logger,
      metrics,
      secrets: ["a-test-secret-of-32-characters!!"],
      allowUnsigned: false,
      maxBodyBytes: 1024 * 1024,
      readiness: () => ({ ready: true }),
      rejectLogIntervalMs: 60_000,
    });
    const server = createServer(app);
    const url = await listen(server);
    try {
      for (let i = 0; i < 200; i++)
        assert.equal((await postWebhook(url, responseWebhook(i), { secret: "wrong" })).status, 401);
      const rejected = lines.filter((l) => /rejected|refused/.test(l.message));
      assert.equal(rejected.length, 1, "one line, not 200");
      assert.match((await metrics.render()).body, /wootric_firehose_webhook_rejected_total\{status="401"\} 200/);
    } finally {
      server.close();
    }
  });

  test("/readyz shows no absolute path and no errno text to unauthenticated callers", async () => {
    const reason =
      "file sink cannot write: ENOSPC: no space left on device, write '/var/lib/wootric/data/entity=response/x.open'";
    const app = createApp({
      sink: new MemorySink(),
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      secrets: ["a-test-secret-of-32-characters!!"],
      allowUnsigned: false,
      maxBodyBytes: 1024,
      readiness: () => ({ ready: false, reason, warnings: ["spool: corrupt bytes in /var/lib/spool/seg-1.corrupt-1"] }),
    });
    const server = createServer(app);
    const url = await listen(server);
    try {
      const res = await fetch(`${url}/readyz`);
      assert.equal(res.status, 503);
      const text = await res.text();
      assert.doesNotMatch(text, /\/var\/lib/);
      assert.doesNotMatch(text, /no space left on device|ENOSPC:/);
      assert.match(text, /file sink cannot write/);
      assert.match(text, /disk full/);
    } finally {
      server.close();
    }
  });

  test("doctor redacts user:pass@ in WOOTRIC_API_URL", () => {
    const config = loadConfig({
      WOOTRIC_CLIENT_ID: "id",
      WOOTRIC_CLIENT_SECRET: "client-secret",
      WOOTRIC_API_URL: "https://alice:hunter2@api.example.com/",
    });
    assert.doesNotMatch(describeConfig(config), /alice|hunter2/);
    assert.match(describeConfig(config), /https:\/\/\*\*\*@api\.example\.com/);
    const line = formatCheck({
      name: "wootric token",
      ok: false,
      detail: "fetch https://alice:hunter2@api.example.com failed",
    });
    assert.doesNotMatch(line, /hunter2/);
  });

  test("a refused token request never echoes the reply body (it may echo the client secret)", async () => {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid_client", request: body }));
      });
    });
    const url = await listen(server);
    try {
      const client = new WootricClient({
        baseUrl: url,
        clientId: "id",
        clientSecret: "the-client-secret-value",
        logger: silentLogger(),
        maxAttempts: 1,
      });
      const err = await client.getToken().then(
        () => assert.fail("expected an auth error"),
        (e: Error) => e,
      );
      assert.doesNotMatch(err.message, /the-client-secret-value/);
      assert.match(err.message, /HTTP 401/);
      assert.match(err.message, /invalid_client/, "a bare OAuth error code is safe to show");
    } finally {
      server.close();
    }
  });

  test("an existing development secret file readable by group or others gets a warning", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wf-devsecret-"));
    dirs.push(dir);
    await writeFile(join(dir, DEV_SECRET_FILE), "0123456789abcdef0123456789abcdef\n");
    await chmod(join(dir, DEV_SECRET_FILE), 0o644);
    const { logger, lines } = capture();
    await ensureDevSecret(dir, logger);
    const warning = lines.find((l) => /readable by/.test(l.message));
    assert.ok(warning, JSON.stringify(lines));
    assert.match(warning.message, /chmod 600/);
    assert.equal(
      (await stat(join(dir, DEV_SECRET_FILE))).mode & 0o777,
      0o644,
      "the file is left as the operator set it",
    );
  });
});
