import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import express from "express";
import { explainStartupError } from "../../src/commands/startup-errors.js";
import { ConfigError, loadConfig } from "../../src/config/index.js";
import { listenWithLimits } from "../../src/webhook/server.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

const LONG = "0123456789abcdef0123456789abcdef";

describe("config: the gaps an attacker found", () => {
  test('WOOTRIC_WEBHOOK_SECRET="," or ",," is an error, not unset', () => {
    for (const v of [",", ",,", " , , "])
      assert.match(problems({ WOOTRIC_WEBHOOK_SECRET: v }), /WOOTRIC_WEBHOOK_SECRET/);
  });

  test("a secret shorter than 16 characters is refused, naming the variable and how to generate one", () => {
    const msg = problems({ WOOTRIC_WEBHOOK_SECRET: `${LONG},x` });
    assert.match(msg, /WOOTRIC_WEBHOOK_SECRET/);
    assert.match(msg, /16 characters/);
    assert.match(msg, /openssl rand -hex 32/);
    assert.doesNotMatch(msg, new RegExp(LONG), "the secret itself is not echoed");
    assert.deepEqual(loadConfig({ WOOTRIC_WEBHOOK_SECRET: ` ${LONG} ,, ${LONG}x ` }).webhook.secrets, [
      LONG,
      `${LONG}x`,
    ]);
  });

  test("numbers are decimal only: PORT=0x4e20, 1e3 or 8080.0 are refused", () => {
    for (const v of ["0x4e20", "1e3", "8080.0", "0b101", "-1", "+80"]) assert.match(problems({ PORT: v }), /PORT/, v);
    assert.equal(loadConfig({ PORT: " 8081 " }).http.port, 8081);
    assert.match(problems({ WEBHOOK_MAX_BYTES: "0x100000" }), /WEBHOOK_MAX_BYTES/);
  });

  test("a bad HOST is a configuration error naming HOST", () => {
    for (const v of ["999.1.1.1", "not a host", "exa_mple..com", "-bad-"])
      assert.match(problems({ HOST: v }), /HOST=/, v);
    for (const v of ["0.0.0.0", "::", "127.0.0.1", "localhost", "api.example.com", "::1"])
      assert.equal(loadConfig({ HOST: v }).http.host, v);
  });

  test("a HOST this machine does not have is a start-up error naming HOST", async () => {
    const app = express();
    const config = loadConfig({ HOST: "203.0.113.7" });
    await assert.rejects(listenWithLimits(app, { port: 0, host: "203.0.113.7" }, config.http.limits), (err: unknown) =>
      /HOST=203\.0\.113\.7 is not an address of this machine/.test(explainStartupError(err, config)?.message ?? ""),
    );
  });

  test("a DATA_DIR that is a file, or under one, is a configuration error naming DATA_DIR", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wf-cfg-"));
    dirs.push(dir);
    const file = join(dir, "a-file");
    await writeFile(file, "x");
    assert.match(problems({ DATA_DIR: file }), /DATA_DIR=.*not a directory/);
    assert.match(problems({ DATA_DIR: join(file, "sub") }), /DATA_DIR=.*not a directory/);
    assert.match(problems({ DATA_DIR: "a\u0000b" }), /DATA_DIR/);
    assert.equal(loadConfig({ DATA_DIR: join(dir, "new", "deeper") }).sink.kind, "file");
    await chmod(file, 0o600);
  });
});
