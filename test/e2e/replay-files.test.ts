import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { z } from "zod";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { ENTITY_DEFS } from "../../src/records/entities.js";
import { type Envelope, makeDeadLetter, makeEnvelope } from "../../src/records/envelope.js";
import { openFileSink } from "../../src/sink/file/open.js";
import { createApp } from "../../src/webhook/app.js";
import { CLI_PATH } from "../helpers/cli.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function replay(dataDir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_PATH, "replay", ...args], {
    env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, LOG_FORMAT: "json", LOG_LEVEL: "warn" },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FILE_SETTINGS = { kind: "file" as const, rotateBytes: 1 << 20, rotateSeconds: 3600 };

/**
 * Runs the real webhook app over a real file sink with a schema bug injected into the response schema (it demands a
 * score written as text, so every real response fails validation), posts webhooks, and closes everything.
 */
async function intakeWithSchemaBug(dataDir: string, bodies: { body: string; contentType: string }[]): Promise<void> {
  const defs = ENTITY_DEFS as unknown as Record<string, { schema: z.ZodType<Record<string, unknown>> }>;
  const original = defs.response!.schema;
  defs.response!.schema = original.refine((r) => typeof r.score === "string", {
    message: "score must be text (injected bug)",
    path: ["score"],
  });
  const sink = await openFileSink({
    settings: { ...FILE_SETTINGS, dataDir },
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
  });
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    secrets: ["s"],
    allowUnsigned: false,
    maxBodyBytes: 1 << 20,
    readiness: () => ({ ready: true }),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const b of bodies) {
      const res = await postWebhook(url, b.body, { secret: "s", contentType: b.contentType });
      assert.equal(res.status, 200, res.body);
    }
  } finally {
    defs.response!.schema = original; // the fix
    await new Promise((r) => server.close(r));
    await sink.close(5_000);
  }
}

async function addDeadLetters(dataDir: string, envelopes: Envelope[]): Promise<void> {
  const sink = await openFileSink({
    settings: { ...FILE_SETTINGS, dataDir },
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
  });
  await sink.write(envelopes);
  await sink.close(5_000);
}

describe("replay from the file sink's dead letters (spawned CLI)", () => {
  test("a dead letter from a schema bug is recovered after the fix; dry run first; a second run recovers nothing new", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wf-replay-"));
    dirs.push(dataDir);
    const jsonBody = responseWebhook(41, { delivery_attempt_extra: true });
    const formBody =
      "response[id]=42&response[score]=9&response[text]=&response[updated_at]=2024-03-05%2010%3A15%3A40%20-0800" +
      "&response[end_user_properties][seats]=12&event_name=created&account_token=NPS-test";
    await intakeWithSchemaBug(dataDir, [
      { body: jsonBody, contentType: "application/json" },
      { body: formBody, contentType: "application/x-www-form-urlencoded" },
      { body: formBody, contentType: "application/x-www-form-urlencoded" }, // Wootric retried it
    ]);
    const polled = makeDeadLetter({
      reason: "response record is invalid: tags: expected array",
      raw: JSON.stringify({ id: 43, score: 3, tags: "SUPPORT", updated_at: "2024-03-05 10:15:40 -0800" }),
      source: "poll",
      intendedEntity: "response",
      receivedAt: new Date("2024-03-06T00:00:00Z"),
    });
    const hopeless = makeDeadLetter({
      reason: "body is not valid JSON",
      raw: '{"response": {"id": 7, oops',
      source: "webhook",
      contentType: "application/json",
      receivedAt: new Date("2024-03-06T00:00:01Z"),
    });
    await addDeadLetters(dataDir, [polled, hopeless]);

    const before = await readClosedRecords(dataDir);
    const dead = before.filter((r) => r.envelope.entity === "dead_letter").map((r) => r.envelope);
    assert.equal(dead.length, 5);
    assert.equal(before.filter((r) => r.envelope.entity === "response").length, 0, "the bug dead-lettered them all");
    const jsonDead = dead.find((d) => d.data.raw === jsonBody)!;
    assert.match(String(jsonDead.data.reason), /injected bug/);

    // Dry run: reports, writes nothing.
    const dry = replay(dataDir, "--dry-run");
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would recover +[0-9a-f]{32} .*response:41:1709662531/);
    assert.match(dry.stdout, /would recover +[0-9a-f]{32} .*response:42:1709662540/);
    assert.match(dry.stdout, /would recover +[0-9a-f]{32} .*response:43:1709662540/);
    assert.match(dry.stdout, /still fails +[0-9a-f]{32} .*not valid JSON/);
    assert.match(
      dry.stdout,
      /5 dead letters in \d+ objects: 3 would be recovered \(3 records\), 1 still failing, 0 recovered by an earlier replay, 1 repeats/,
    );
    assert.equal((await readClosedRecords(dataDir)).length, before.length, "a dry run writes nothing");

    // A window: other days' partitions are not even read; within the day, received_at decides.
    const none = replay(dataDir, "--dry-run", "--until", "2000-01-01");
    assert.match(none.stdout, /^0 dead letters in 0 objects/m);
    const some = replay(dataDir, "--dry-run", "--since", "2024-03-06T00:00:00.500Z", "--until", "2024-03-06T00:00:02Z");
    assert.match(
      some.stdout,
      /2 dead letters in 1 objects: 0 would be recovered .*1 still failing.*1 outside --since\/--until/,
    );

    const run = replay(dataDir);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /3 recovered \(3 records\), 1 still failing/);
    const after1 = (await readClosedRecords(dataDir)).map((r) => r.envelope);
    const recovered = after1.filter((e) => e.entity === "response");
    assert.deepEqual(recovered.map((e) => e.id).sort(), [41, 42, 43]);

    // Exactly what the fixed parser gives for the original bytes at the original time, plus replayed_at.
    const r41 = recovered.find((e) => e.id === 41)!;
    const direct = makeEnvelope("response", JSON.parse(jsonBody).response, {
      source: "webhook",
      receivedAt: new Date(jsonDead.received_at),
      format: "json",
    });
    assert.equal(r41.received_at, jsonDead.received_at);
    assert.match(r41.replayed_at ?? "", /^\d{4}-\d{2}-\d{2}T/);
    assert.ok(r41.replayed_at! > r41.received_at);
    assert.equal(r41.dedup_key, direct.dedup_key);
    assert.equal(r41.version, direct.version);
    assert.deepEqual(r41.data, direct.data);
    assert.equal(r41.webhook?.account_token, "NPS-test");
    const r42 = recovered.find((e) => e.id === 42)!;
    assert.equal(r42.format, "form");
    assert.equal(r42.data.text, null);
    assert.deepEqual(r42.data.end_user_properties, { seats: "12" });
    const r43 = recovered.find((e) => e.id === 43)!;
    assert.equal(r43.source, "poll");
    assert.equal(r43.format, "api");
    assert.deepEqual(r43.data.tags, ["SUPPORT"]);
    assert.equal(r43.received_at, "2024-03-06T00:00:00.000Z");

    const ledger = JSON.parse(await readFile(join(dataDir, "_state", "replay", "dead-letters.json"), "utf8"));
    assert.equal(Object.keys(ledger.done).length, 3);

    // Idempotent: nothing new the second time.
    const again = replay(dataDir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(
      again.stdout,
      /0 recovered \(0 records\), 1 still failing, 4 recovered by an earlier replay, 0 repeats/,
    );
    assert.equal((await readClosedRecords(dataDir)).filter((r) => r.envelope.entity === "response").length, 3);
  });

  test("a DATA_DIR held by a running process is explained and exits 2, not a raw error with exit 1", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wf-replay-held-"));
    dirs.push(dataDir);
    const holder = await openFileSink({
      settings: { ...FILE_SETTINGS, dataDir },
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
    });
    try {
      const r = replay(dataDir);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^replay: DATA_DIR .* is in use by another wootric-firehose process/m);
      assert.match(r.stderr, /give each process its own DATA_DIR/);
    } finally {
      await holder.close(5_000);
    }
  });

  test("usage errors exit 2 and name the problem; --help explains the command", () => {
    const dir = tmpdir();
    const bad = replay(dir, "--since", "yesterday");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--since must be YYYY-MM-DD or an ISO-8601 time/);
    const order = replay(dir, "--since", "2024-02-01", "--until", "2024-01-01");
    assert.equal(order.status, 2);
    assert.match(order.stderr, /--until must be after --since/);
    const redrive = replay(dir, "--redrive");
    assert.equal(redrive.status, 2);
    assert.match(redrive.stderr, /FIREHOSE_ERROR_URL/);
    const help = replay(dir, "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--dry-run/);
    assert.match(help.stdout, /replayed_at/);
  });
});
