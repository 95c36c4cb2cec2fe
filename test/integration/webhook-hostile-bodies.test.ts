import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { openFileSink } from "../../src/sink/file/open.js";
import type { Sink } from "../../src/sink/sink.js";
import { createApp } from "../../src/webhook/app.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { type RunningServer, serve } from "../helpers/http-server.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const SECRET = "a-test-secret-of-32-characters!!";
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function serveWebhooks(sink: Sink): Promise<RunningServer> {
  return serve(
    createApp({
      sink,
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      secrets: [SECRET],
      allowUnsigned: false,
      maxBodyBytes: 1024 * 1024,
      readiness: () => sink.readiness(),
    }),
  );
}

/** A signed response whose `end_user_properties.deep` holds `depth` nested arrays. */
function deepWebhook(depth: number, withUpdatedAt: boolean): string {
  const body = JSON.parse(responseWebhook(999_999)) as { response: Record<string, unknown> };
  if (!withUpdatedAt) delete body.response.updated_at;
  const text = JSON.stringify(body);
  const marker = '"end_user_properties":{"plan":"Pro"}';
  assert.ok(text.includes(marker));
  return text.replace(marker, `"end_user_properties":{"plan":"Pro","deep":${"[".repeat(depth)}${"]".repeat(depth)}}`);
}

describe("hostile bodies on the real file sink", () => {
  for (const withUpdatedAt of [true, false]) {
    test(`~4,000 nested arrays (${withUpdatedAt ? "with" : "without"} updated_at) become a dead letter, and 100 concurrent webhooks are all stored`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "wf-hostile-"));
      dirs.push(dataDir);
      const sink = await openFileSink({
        settings: { kind: "file", dataDir, rotateBytes: 64 * 1024 * 1024, rotateSeconds: 3600 },
        logger: silentLogger(),
        metrics: new Metrics({ defaults: false }),
      });
      const { url, close } = await serveWebhooks(sink);
      try {
        const bomb = deepWebhook(4000, withUpdatedAt);
        const results = await Promise.all([
          postWebhook(url, bomb, { secret: SECRET }),
          ...Array.from({ length: 100 }, (_, i) => postWebhook(url, responseWebhook(i + 1), { secret: SECRET })),
        ]);
        assert.equal(results[0]!.status, 200, `the nested record is answered 200: ${results[0]!.body}`);
        assert.deepEqual(
          results.slice(1).map((r) => r.status),
          Array.from({ length: 100 }, () => 200),
          "no legitimate webhook fails because of the bomb",
        );
        const ready = await fetch(`${url}/readyz`);
        assert.equal(ready.status, 200, "the sink stays ready");
      } finally {
        await close();
        await sink.close(5000);
      }
      const records = await readClosedRecords(dataDir);
      const responses = records.filter((r) => r.envelope.entity === "response");
      assert.equal(new Set(responses.map((r) => r.envelope.id)).size, 100);
      const dead = records.filter((r) => r.envelope.entity === "dead_letter");
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.envelope.data.raw, deepWebhook(4000, withUpdatedAt), "the raw bytes are kept");
      assert.match(String(dead[0]!.envelope.data.reason), /nest/);
    });
  }
});
