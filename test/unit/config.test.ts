import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, requireWebhookSecurity } from "../../src/config/index.js";

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

describe("config", () => {
  test("defaults give the embedded file sink, webhooks only", () => {
    const c = loadConfig({});
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.host, "0.0.0.0");
    assert.equal(c.http.maxBodyBytes, 1024 * 1024);
    assert.deepEqual(c.sink, { kind: "file", dataDir: "./data", rotateBytes: 64 * 1024 * 1024, rotateSeconds: 60 });
    assert.equal(c.wootric, undefined);
    assert.deepEqual(c.webhook, { secrets: [], allowUnsigned: false });
  });

  test("WOOTRIC_WEBHOOK_SECRET is comma-separated for rotation, blanks ignored", () => {
    const [old, next] = ["old-secret-0123456789", "new-secret-0123456789"];
    assert.deepEqual(loadConfig({ WOOTRIC_WEBHOOK_SECRET: ` ${old} , ${next} ,,` }).webhook.secrets, [old, next]);
  });

  test("errors name the variable and how to fix it", () => {
    assert.match(problems({ PORT: "eighty" }), /PORT="eighty".*set PORT to a TCP port/);
    assert.match(problems({ PORT: "70000" }), /PORT/);
    assert.match(problems({ WOOTRIC_REGION: "mars" }), /WOOTRIC_REGION.*us, eu, au/);
    assert.match(problems({ ALLOW_UNSIGNED_WEBHOOKS: "maybe" }), /ALLOW_UNSIGNED_WEBHOOKS.*true or false/);
    assert.match(problems({ WEBHOOK_MAX_BYTES: "10" }), /WEBHOOK_MAX_BYTES/);
    assert.match(problems({ FILE_ROTATE_SECONDS: "0" }), /FILE_ROTATE_SECONDS/);
    assert.match(problems({ WOOTRIC_CLIENT_ID: "abc" }), /WOOTRIC_CLIENT_SECRET is missing/);
    assert.match(problems({ FIREHOSE_STREAM_NAME: "arn:aws:firehose:x" }), /FIREHOSE_STREAM_NAME.*not its ARN/);
    assert.match(problems({ STATE_URL: "ftp://x" }), /STATE_URL/);
    assert.match(
      problems({ POLL_CRON: "every 5 minutes" }),
      /POLL_CRON="every 5 minutes": is not a valid cron expression.*minute hour/,
    );
    assert.equal(loadConfig({ POLL_CRON: "0 */2 * * *" }).poll.cron, "0 */2 * * *");
  });

  test("secrets are never echoed in errors", () => {
    const msg = problems({ WOOTRIC_CLIENT_SECRET: "hunter2", WOOTRIC_API_URL: "not a url" });
    assert.doesNotMatch(msg, /hunter2/);
  });

  test("the Firehose sink requires a webhook secret unless unsigned intake is allowed", () => {
    const firehose = loadConfig({ FIREHOSE_STREAM_NAME: "wootric" });
    assert.throws(
      () => requireWebhookSecurity(firehose),
      (err: unknown) => err instanceof ConfigError && /WOOTRIC_WEBHOOK_SECRET/.test(err.message),
    );
    assert.doesNotThrow(() =>
      requireWebhookSecurity(loadConfig({ FIREHOSE_STREAM_NAME: "wootric", WOOTRIC_WEBHOOK_SECRET: "s".repeat(16) })),
    );
    assert.doesNotThrow(() =>
      requireWebhookSecurity(loadConfig({ FIREHOSE_STREAM_NAME: "wootric", ALLOW_UNSIGNED_WEBHOOKS: "true" })),
    );
  });
});
