import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CLI_PATH, type RunningCli, startServe } from "../helpers/cli.js";
import { startFirehoseStub, stubEnv } from "../helpers/firehose-stub.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const dirs: string[] = [];
const clis: RunningCli[] = [];
after(async () => {
  for (const c of clis) await c.stop("SIGKILL");
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-region-"));
  dirs.push(d);
  return d;
}

/** No region anywhere: no AWS_REGION, an empty HOME (no ~/.aws/config profile), instance metadata switched off. */
async function regionlessEnv(extra: Record<string, string>): Promise<Record<string, string>> {
  const home = await tempDir();
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    AWS_CONFIG_FILE: join(home, "none-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "none-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    LOG_FORMAT: "json",
    DATA_DIR: home,
    WOOTRIC_WEBHOOK_SECRET: "region-test-secret-0123",
    ...extra,
  };
}

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI_PATH, ...args], { env, encoding: "utf8", timeout: 30_000 });
}

describe("a missing AWS region fails fast", () => {
  for (const [variable, value] of [
    ["FIREHOSE_STREAM_NAME", "wootric"],
    ["STATE_URL", "s3://my-bucket/state"],
    ["DEAD_LETTER_URL", "s3://my-bucket/dead"],
  ] as const) {
    test(`serve with ${variable} and no region exits 2 naming AWS_REGION and ${variable}`, async () => {
      const r = run(["serve"], await regionlessEnv({ [variable]: value, PORT: "0" }));
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /AWS_REGION is not set/);
      assert.ok(r.stderr.includes(variable), r.stderr);
    });
  }

  test("sync and doctor fail the same way", async () => {
    const env = await regionlessEnv({
      STATE_URL: "s3://my-bucket/state",
      WOOTRIC_CLIENT_ID: "i",
      WOOTRIC_CLIENT_SECRET: "s",
    });
    for (const args of [["sync", "--once"], ["doctor"]]) {
      const r = run(args, env);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /AWS_REGION is not set/);
    }
  });

  for (const [variable, value, args] of [
    ["DATA_URL", "s3://bucket-x/data", ["replay", "--dry-run"]],
    ["FIREHOSE_ERROR_URL", "s3://bucket-x/errors/firehose", ["replay", "--dry-run"]],
  ] as const) {
    test(`${args.join(" ")} with ${variable} and no region exits 2 naming AWS_REGION and ${variable}`, async () => {
      const r = run([...args], await regionlessEnv({ [variable]: value }));
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /AWS_REGION is not set/);
      assert.ok(r.stderr.includes(variable), r.stderr);
      assert.doesNotMatch(r.stderr, /Region is missing/);
    });
  }

  test("the file sink needs no region", async () => {
    const r = run(["doctor"], await regionlessEnv({}));
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("AWS_DEFAULT_REGION is accepted and reaches the Firehose client", async () => {
    const stub = await startFirehoseStub({ streamName: "stub-stream" });
    try {
      const { AWS_REGION: _drop, ...base } = stubEnv(stub);
      const dir = await tempDir();
      const cli = await startServe({
        ...(await regionlessEnv({})),
        ...base,
        AWS_DEFAULT_REGION: "eu-west-1",
        FIREHOSE_STREAM_NAME: "stub-stream",
        SPOOL_DIR: join(dir, "spool"),
        DATA_DIR: dir,
      });
      clis.push(cli);
      assert.equal((await fetch(`${cli.baseUrl}/readyz`)).status, 200);
      assert.equal(
        (await postWebhook(cli.baseUrl, responseWebhook(7), { secret: "region-test-secret-0123" })).status,
        200,
      );
      const deadline = Date.now() + 15_000;
      while (stub.stats.acceptedLines < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(stub.stats.acceptedLines, 1, `the record never reached Firehose:\n${cli.output()}`);
      assert.equal(await cli.stop("SIGTERM"), 0);
    } finally {
      await stub.close();
    }
  });
});
