import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeDeadLetter, makeEnvelope, serializeEnvelope } from "../../src/records/envelope.js";
import { ReplayProgress } from "../../src/replay/progress.js";
import { deadLetterIdentity, recoverDeadLetter } from "../../src/replay/recover.js";
import { parseErrorLine } from "../../src/replay/redrive.js";
import { replayDeadLetters } from "../../src/replay/replay.js";
import { DEAD_LETTERS_KEY, ReplayRecord } from "../../src/replay/replay-record.js";
import type { StoredObject } from "../../src/replay/sources.js";
import { DirStateStore } from "../../src/state/dir-store.js";
import { MemorySink } from "../helpers/memory-sink.js";

const replayedAt = new Date("2026-12-01T00:00:00.000Z");
const receivedAt = new Date("2026-11-01T00:00:00.000Z");

describe("recoverDeadLetter", () => {
  test("a body holding a response and a decline: only the dead-lettered one is recovered", () => {
    const body = JSON.stringify({
      response: { id: 1, updated_at: "2024-03-05T10:15:31.004-08:00" },
      decline: { id: 2, updated_at: "2024-03-05T10:15:31.004-08:00" },
      event_name: "created",
    });
    const dl = makeDeadLetter({
      reason: "decline record is invalid: (old bug)",
      raw: body,
      source: "webhook",
      intendedEntity: "decline",
      contentType: "application/json",
      receivedAt,
    });
    const r = recoverDeadLetter(dl, { replayedAt });
    assert.ok(r.ok);
    assert.deepEqual(
      r.envelopes.map((e) => [e.entity, e.id, e.received_at, e.replayed_at]),
      [["decline", 2, receivedAt.toISOString(), replayedAt.toISOString()]],
    );
    // replayed_at sits right after received_at in the line.
    assert.match(serializeEnvelope(r.envelopes[0]!), /"received_at":"[^"]+","replayed_at":"[^"]+"/);
  });

  test("altered bytes, nps_summary without its day, and a line still too large for Firehose stay dead letters", () => {
    const dl = makeDeadLetter({ reason: "x", raw: '{"response":{"id":1}}', source: "webhook", receivedAt });
    const altered = { ...dl, data: { ...dl.data, raw: '{"response":{"id":2}}' } };
    const a = recoverDeadLetter(altered, { replayedAt });
    assert.ok(!a.ok && /raw_sha256/.test(a.reason));

    const nps = makeDeadLetter({ reason: "x", raw: "{}", source: "poll", intendedEntity: "nps_summary", receivedAt });
    const n = recoverDeadLetter(nps, { replayedAt });
    assert.ok(!n.ok && /backfill/.test(n.reason));

    const big = makeEnvelope("response", { id: 5, text: "x".repeat(2000) }, { source: "poll", receivedAt });
    const refused = makeDeadLetter({
      reason: "too large",
      raw: serializeEnvelope(big),
      source: "poll",
      contentType: "application/x-ndjson",
      receivedAt,
    });
    const tooBig = recoverDeadLetter(refused, { replayedAt, maxLineBytes: 1000 });
    assert.ok(!tooBig.ok && /larger than Firehose's 1000-byte record limit/.test(tooBig.reason));
    const toFiles = recoverDeadLetter(refused, { replayedAt });
    assert.ok(toFiles.ok, "the file sink has no record limit");
    assert.equal(toFiles.envelopes[0]!.dedup_key, big.dedup_key);
  });

  test("a refused dead letter (a dead letter inside a dead letter) is not a record", () => {
    const inner = makeDeadLetter({ reason: "x", raw: "garbage", source: "webhook", receivedAt });
    const outer = makeDeadLetter({
      reason: "refused",
      raw: serializeEnvelope(inner),
      source: "webhook",
      contentType: "application/x-ndjson",
      receivedAt,
    });
    const r = recoverDeadLetter(outer, { replayedAt });
    assert.ok(!r.ok && /dead_letter envelope, not a record/.test(r.reason));
  });
});

describe("replayDeadLetters", () => {
  test("idempotent through the replay record; a sink failure records nothing, so the next run retries", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wf-replay-unit-"));
    try {
      const store = new DirStateStore(dir);
      const dls = [1, 2, 3].map((id) =>
        makeDeadLetter({
          reason: "old bug",
          raw: JSON.stringify({ response: { id, updated_at: "2024-03-05T10:15:31.004-08:00" } }),
          source: "webhook",
          intendedEntity: "response",
          contentType: "application/json",
          receivedAt,
        }),
      );
      const objects = (): AsyncIterable<StoredObject> =>
        (async function* () {
          yield { location: "mem://1", version: "1", lines: async () => dls.map((d) => serializeEnvelope(d)) };
        })();
      const report: string[] = [];

      const failing = new MemorySink();
      failing.failAfterWrites = 0;
      await assert.rejects(
        replayDeadLetters(
          {
            objects: objects(),
            sink: failing,
            record: await ReplayRecord.load(store, DEAD_LETTERS_KEY),
            report: (l) => report.push(l),
            replayedAt,
          },
          {},
        ),
      );
      assert.equal((await ReplayRecord.load(store, DEAD_LETTERS_KEY)).size, 0);

      const sink = new MemorySink();
      const first = await replayDeadLetters(
        {
          objects: objects(),
          sink,
          record: await ReplayRecord.load(store, DEAD_LETTERS_KEY),
          report: (l) => report.push(l),
          replayedAt,
          batchSize: 2,
        },
        {},
      );
      assert.equal(first.recovered, 3);
      assert.equal(sink.writes, 2, "two batches");
      assert.deepEqual([...sink.ids("response")].sort(), ["1", "2", "3"]);
      const record = await ReplayRecord.load(store, DEAD_LETTERS_KEY);
      assert.deepEqual(record.get(deadLetterIdentity(dls[0]!))?.keys, ["response:1:1709662531"]);

      const second = await replayDeadLetters(
        { objects: objects(), sink, record, report: (l) => report.push(l), replayedAt },
        {},
      );
      assert.equal(second.recovered, 0);
      assert.equal(second.alreadyRecovered, 3);
      assert.equal(sink.written.length, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Firehose error lines and progress", () => {
  test("parseErrorLine reads rawData and the error code in either spelling", () => {
    const r = parseErrorLine(
      JSON.stringify({ ErrorCode: "X", ErrorMessage: "m", rawData: Buffer.from("a\n").toString("base64") }),
    );
    assert.ok(typeof r !== "string");
    assert.equal(r.data.toString(), "a\n");
    assert.equal(r.errorCode, "X");
    assert.match(r.identity, /^[0-9a-f]{32}$/);
    assert.equal(parseErrorLine("nope"), "not JSON");
    assert.equal(parseErrorLine("{}"), "no rawData");
  });

  test("progress redraws one line on a TTY and stays silent otherwise", () => {
    const writes: string[] = [];
    const out = { write: (s: string) => writes.push(s) > 0, isTTY: true } as unknown as NodeJS.WritableStream;
    let t = 0;
    const p = new ReplayProgress(out, true, () => t);
    p.update("a", true);
    p.update("b"); // within 100 ms: skipped
    t = 200;
    p.update("c");
    p.clear();
    assert.deepEqual(writes, ["\r\x1b[2Ka", "\r\x1b[2Kc", "\r\x1b[2K"]);
    const quiet: string[] = [];
    const q = new ReplayProgress({ write: (s: string) => quiet.push(s) > 0 } as unknown as NodeJS.WritableStream);
    q.update("x", true);
    q.clear();
    assert.deepEqual(quiet, []);
  });
});
