import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { SinkUnavailableError } from "../../src/sink/sink.js";
import { eventually, never } from "../helpers/eventually.js";
import {
  awsError,
  envelope,
  envelopeOfSize,
  lineOf,
  linesOfRecord,
  okReply,
  openHarness,
  type PutReply,
} from "../helpers/firehose-harness.js";

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => envelope(from + i));
const sorted = (xs: string[]) => [...xs].sort();

describe("firehose sink: partial failures", () => {
  test("only the failed entries are resent, byte for byte", async () => {
    const h = await openHarness({
      packLimits: { maxLinesPerRecord: 1 }, // one line per record so entries map to envelopes
      firehose: (records, call) => {
        if (call === 0) {
          return {
            FailedPutCount: 2,
            RequestResponses: records.map((_, i) =>
              i === 1 || i === 3
                ? { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." }
                : { RecordId: `r${i}` },
            ),
          };
        }
        return okReply(records.length);
      },
    });
    try {
      const envs = ids(5);
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length === 5, 5000, "all accepted");
      assert.equal(h.recorded.calls.length, 2);
      assert.deepEqual(h.recorded.calls[0], envs.map(lineOf));
      assert.deepEqual(
        h.recorded.calls[1],
        [lineOf(envs[1]!), lineOf(envs[3]!)],
        "second call resends exactly the failed entries",
      );
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)), "each envelope accepted exactly once");
      assert.equal(await h.metric("producer_entry_failures_total", { code: "ServiceUnavailableException" }), 2);
      assert.equal(await h.metric("producer_retries_total", { kind: "entries" }), 2);
    } finally {
      await h.cleanup();
    }
  });

  test("every record failing, repeatedly, is retried until accepted and nothing is lost or duplicated", async () => {
    const h = await openHarness({
      packLimits: { maxLinesPerRecord: 3 },
      firehose: (records, call) =>
        call < 3
          ? {
              FailedPutCount: records.length,
              RequestResponses: records.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "boom" })),
            }
          : okReply(records.length),
    });
    try {
      const envs = ids(10);
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length === 10, 5000, "all accepted");
      assert.equal(h.recorded.calls.length, 4);
      for (const c of h.recorded.calls)
        assert.deepEqual(c, envs.map(lineOf), "all-failed replies resend everything, in order");
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)));
      assert.equal(await h.metric("producer_entry_failures_total", { code: "InternalFailure" }), 3 * 4);
    } finally {
      await h.cleanup();
    }
  });

  test("a reply missing entries counts them as failed (never as delivered)", async () => {
    const h = await openHarness({
      packLimits: { maxLinesPerRecord: 1 },
      firehose: (records, call) =>
        call === 0 ? { FailedPutCount: 0, RequestResponses: [{ RecordId: "only-one" }] } : okReply(records.length),
    });
    try {
      const envs = ids(3);
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length === 3, 5000, "all accepted");
      assert.deepEqual(h.recorded.calls[1], envs.slice(1).map(lineOf));
    } finally {
      await h.cleanup();
    }
  });
});

describe("firehose sink: whole-request errors", () => {
  for (const [name, status] of [
    ["ThrottlingException", 400],
    ["ServiceUnavailableException", 500],
  ] as const) {
    test(`${name} is retried with backoff until it succeeds`, async () => {
      const h = await openHarness({
        firehose: (records, call) => {
          if (call < 4) throw awsError(name, status);
          return okReply(records.length);
        },
      });
      try {
        const envs = ids(50);
        await h.sink.write(envs);
        await h.until(() => h.recorded.accepted.length === 50, 5000, "all accepted");
        assert.equal(h.recorded.calls.length, 5);
        assert.equal(await h.metric("producer_request_errors_total", { code: name }), 4);
        assert.equal(await h.metric("producer_retries_total", { kind: "request" }), 4);
        assert.equal(h.sink.readiness().ready, true);
      } finally {
        await h.cleanup();
      }
    });
  }

  test("InvalidArgumentException: the batch is split until the poison line is alone; it travels on as a dead letter", async () => {
    const poisonMark = "POISON";
    const h = await openHarness({
      firehose: (records) => {
        if (
          records.some((d) => Buffer.from(d).includes(poisonMark) && !Buffer.from(d).includes('"entity":"dead_letter"'))
        ) {
          throw awsError("InvalidArgumentException", 400, "record rejected");
        }
        return okReply(records.length);
      },
    });
    try {
      const envs = ids(40);
      const poison = envelope(999);
      poison.data = { ...poison.data, note: poisonMark };
      const all = [...envs.slice(0, 17), poison, ...envs.slice(17)];
      await h.sink.write(all);
      await h.until(() => h.recorded.accepted.length === 41, 5000, "40 good lines + 1 dead letter");
      const good = h.recorded.accepted.filter((l) => !l.includes('"entity":"dead_letter"'));
      assert.deepEqual(sorted(good), sorted(envs.map(lineOf)), "every good line delivered exactly once");
      const dl = h.recorded.accepted.find((l) => l.includes('"entity":"dead_letter"'))!;
      const parsed = JSON.parse(dl) as { data: { raw: string; reason: string; intended_entity: string } };
      assert.equal(parsed.data.raw, lineOf(poison));
      assert.match(parsed.data.reason, /InvalidArgumentException/);
      assert.equal(parsed.data.intended_entity, "response");
      assert.equal(await h.metric("producer_dead_letters_total", { path: "firehose" }), 1);
      await h.until(() => h.sink.readiness().ready, 1000);
    } finally {
      await h.cleanup();
    }
  });

  test("ResourceNotFound / AccessDenied: stop draining, not ready with the reason, keep the data, recover", async () => {
    let broken = true;
    const h = await openHarness({
      tuning: { blockedRetryMs: 40 },
      firehose: (records) => {
        if (broken)
          throw awsError("ResourceNotFoundException", 400, "Firehose test-stream under account 123 not found.");
        return okReply(records.length);
      },
    });
    try {
      await h.sink.write(ids(20));
      await h.until(() => !h.sink.readiness().ready, 3000, "not ready");
      const r = h.sink.readiness();
      assert.match(r.reason ?? "", /ResourceNotFoundException/);
      assert.match(r.reason ?? "", /test-stream/);
      assert.equal(await h.metric("producer_blocked"), 1);
      const callsWhileBlocked = h.recorded.calls.length;
      await never(() => h.recorded.calls.length - callsWhileBlocked > 12, {
        forMs: 200,
        what: "more than 12 retries in 200 ms while blocked",
      });
      assert.equal(h.recorded.accepted.length, 0);
      assert.equal(await h.metric("spool_records"), 20);
      // writes still land in the spool while blocked
      await h.sink.write(ids(5, 100));
      broken = false;
      await h.until(() => h.recorded.accepted.length === 25, 5000, "drained after recovery");
      await h.until(() => h.sink.readiness().ready, 1000, "ready again");
      assert.equal(await h.metric("producer_blocked"), 0);
    } finally {
      await h.cleanup();
    }
  });
});

describe("firehose sink: a stream that refuses every put", () => {
  test("InvalidArgumentException 'not permitted on KinesisStreamAsSource' blocks the stream; no record becomes a dead letter", async () => {
    let wrongStream = true;
    const h = await openHarness({
      tuning: { blockedRetryMs: 40 },
      firehose: (records) => {
        if (wrongStream) {
          throw awsError(
            "InvalidArgumentException",
            400,
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
          );
        }
        return okReply(records.length);
      },
    });
    try {
      const envs = ids(6);
      await h.sink.write(envs);
      await h.until(() => !h.sink.readiness().ready || h.recorded.calls.length > 20, 3000, "not ready or split");
      assert.match(h.sink.readiness().reason ?? "", /KinesisStreamAsSource/);
      assert.equal(await h.metric("producer_dead_letters_total", { path: "firehose" }), 0);
      wrongStream = false;
      await h.until(() => h.recorded.accepted.length === 6, 5000, "delivered once the stream accepts puts");
      assert.deepEqual(
        sorted(h.recorded.accepted),
        sorted(envs.map(lineOf)),
        "delivered as they are, not as dead letters",
      );
    } finally {
      await h.cleanup();
    }
  });
});

describe("firehose sink: oversize records and dead letters in S3", () => {
  test("a line over 1,024,000 bytes goes to S3 under DEAD_LETTER_URL, retried until the write succeeds", async () => {
    const h = await openHarness({
      deadLetter: { bucket: "dl-bucket", prefix: "errors" },
      s3: (_input, call) => {
        if (call < 2) throw awsError("ServiceUnavailable", 503);
      },
      firehose: (records) => okReply(records.length),
    });
    try {
      const big = envelopeOfSize(7, 1_024_001);
      const exact = envelopeOfSize(8, 1_024_000);
      await h.sink.write([envelope(1), big, exact, envelope(2)]);
      await h.until(
        () => h.s3Puts.length === 1 && h.recorded.accepted.length === 3,
        10_000,
        "S3 dead letter + 3 lines",
      );
      const put = h.s3Puts[0]!;
      assert.equal(put.Bucket, "dl-bucket");
      assert.match(put.Key, /^errors\/dt=2026-11-27\/[0-9a-f]{64}\.json$/);
      const dl = JSON.parse(put.Body) as { entity: string; data: { raw: string; reason: string; raw_bytes: number } };
      assert.equal(dl.entity, "dead_letter");
      assert.equal(dl.data.raw, lineOf(big));
      assert.equal(dl.data.raw_bytes, 1_024_001);
      assert.match(dl.data.reason, /exceeds Firehose's 1024000-byte record limit/);
      // the exactly-1,024,000-byte line went through Firehose as a record on its own
      const exactCall = h.recorded.calls.find((c) => c.includes(lineOf(exact)));
      assert.ok(exactCall);
      assert.equal(await h.metric("producer_dead_letters_total", { path: "s3" }), 1);
      await eventually(async () => (await h.metric("spool_records")) === 0, {
        what: "the dead-lettered line to be acknowledged in the spool once written",
      });
    } finally {
      await h.cleanup();
    }
  });

  test("close(deadline) returns in time while a dead-letter PutObject hangs; the line stays in the spool", async () => {
    const dir = await mkdtemp(join(tmpdir(), "firehose-dl-hang-"));
    try {
      let s3Calls = 0;
      const h = await openHarness({
        dir,
        deadLetter: { bucket: "dl", prefix: "" },
        s3: () => {
          s3Calls++;
          return new Promise<never>(() => undefined);
        },
        firehose: (records) => okReply(records.length),
      });
      const big = envelopeOfSize(7, 1_100_000);
      await h.sink.write([big]);
      await h.until(() => s3Calls === 1, 5000, "a PutObject in flight");
      const closed = await Promise.race([
        h.sink.close(300).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ]);
      assert.ok(closed, "close(300) had not returned after 3 s");
      await h.cleanup();

      const h2 = await openHarness({
        dir,
        deadLetter: { bucket: "dl", prefix: "" },
        firehose: (records) => okReply(records.length),
      });
      await h2.until(() => h2.s3Puts.length === 1, 5000, "dead letter written after restart");
      assert.equal(JSON.parse(h2.s3Puts[0]!.Body).data.raw, lineOf(big));
      await h2.cleanup();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("without DEAD_LETTER_URL an oversize line stays in the spool and readiness says why; it is written once configured", async () => {
    const dir = await mkdtemp(join(tmpdir(), "firehose-dl-"));
    try {
      const h = await openHarness({ dir, firehose: (records) => okReply(records.length) });
      const big = envelopeOfSize(7, 1_100_000);
      await h.sink.write([envelope(1), big]);
      await h.until(() => !h.sink.readiness().ready && h.recorded.accepted.length === 1, 5000, "not ready");
      assert.match(h.sink.readiness().reason ?? "", /DEAD_LETTER_URL/);
      assert.equal(await h.metric("spool_records"), 1);
      await h.cleanup();

      const h2 = await openHarness({
        dir,
        deadLetter: { bucket: "dl", prefix: "" },
        firehose: (records) => okReply(records.length),
      });
      await h2.until(() => h2.s3Puts.length === 1, 5000, "dead letter written after restart");
      assert.equal(JSON.parse(h2.s3Puts[0]!.Body).data.raw, lineOf(big));
      assert.match(h2.s3Puts[0]!.Key, /^dt=\d{4}-\d{2}-\d{2}\/[0-9a-f]{64}\.json$/);
      assert.equal(h2.recorded.calls.length, 0, "the line already accepted is not sent again");
      await h2.cleanup();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("firehose sink: packing, limits, metrics", () => {
  test("~1 KB lines are packed ≤ 500 per record; billed units follow the 5 KB rounding", async () => {
    const h = await openHarness({ settings: { lingerMs: 50 }, firehose: (records) => okReply(records.length) });
    try {
      const envs = Array.from({ length: 1200 }, (_, i) => envelopeOfSize(i, 1000));
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length === 1200, 5000, "all accepted");
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)));
      const records = await h.metric("producer_records_sent_total");
      assert.equal(records, 3, "1,200 lines → records of 500, 500, 200");
      assert.equal(
        await h.metric("producer_billed_units_total"),
        Math.ceil(500_000 / 5120) * 2 + Math.ceil(200_000 / 5120),
      );
      assert.equal(await h.metric("producer_lines_sent_total"), 1200);
    } finally {
      await h.cleanup();
    }
  });

  test("exactly 500 records per call at most; 501 need a second call", async () => {
    const h = await openHarness({
      settings: { lingerMs: 100 },
      packLimits: { maxLinesPerRecord: 1 },
      firehose: (records) => okReply(records.length),
    });
    try {
      await h.sink.write(ids(501));
      await h.until(() => h.recorded.accepted.length === 501, 5000, "all accepted");
      assert.deepEqual(
        h.recorded.calls.map((c) => c.length),
        [500, 1],
      );
    } finally {
      await h.cleanup();
    }
  });

  test("a batch never exceeds the byte bound: 5 lines of 1,024,000 bytes take two calls", async () => {
    const h = await openHarness({ settings: { lingerMs: 100 }, firehose: (records) => okReply(records.length) });
    try {
      const envs = Array.from({ length: 5 }, (_, i) => envelopeOfSize(i, 1_024_000));
      await h.sink.write(envs);
      await h.until(() => h.recorded.accepted.length === 5, 10_000, "all accepted");
      assert.deepEqual(
        h.recorded.calls.map((c) => c.length),
        [4, 1],
      );
    } finally {
      await h.cleanup();
    }
  });

  test("every record's Data ends in a newline and holds whole lines", async () => {
    let seen: Uint8Array[] = [];
    const h = await openHarness({
      firehose: (records) => {
        seen = seen.concat(records);
        return okReply(records.length);
      },
    });
    try {
      await h.sink.write(Array.from({ length: 700 }, (_, i) => envelope(i, i % 37)));
      await h.until(() => h.recorded.accepted.length === 700, 5000, "all accepted");
      for (const d of seen) {
        assert.equal(Buffer.from(d).at(-1), 0x0a);
        for (const l of linesOfRecord(d)) JSON.parse(l);
        assert.ok(linesOfRecord(d).length <= 500);
      }
    } finally {
      await h.cleanup();
    }
  });
});

describe("firehose sink: lifecycle", () => {
  test("close(deadline) during an outage returns in time and leaves the records for the next start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "firehose-close-"));
    try {
      const h = await openHarness({
        dir,
        firehose: () => {
          throw awsError("ServiceUnavailableException", 500);
        },
      });
      const envs = ids(30);
      await h.sink.write(envs);
      await h.until(() => h.recorded.calls.length >= 1, 5000, "a first (failing) call");
      const t0 = Date.now();
      await h.sink.close(300);
      assert.ok(Date.now() - t0 < 1500, `close took ${Date.now() - t0} ms`);
      await assert.rejects(h.sink.write(ids(1)), SinkUnavailableError);
      assert.equal(h.sink.readiness().ready, false);
      await h.cleanup();

      const h2 = await openHarness({ dir, firehose: (records) => okReply(records.length) });
      await h2.until(() => h2.recorded.accepted.length === 30, 5000, "replayed");
      assert.deepEqual(sorted(h2.recorded.accepted), sorted(envs.map(lineOf)));
      await h2.sink.close(2000);
      await h2.cleanup();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("close(deadline) returns in time while a PutRecordBatch call hangs; its records stay for the next start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "firehose-hang-"));
    try {
      const h = await openHarness({ dir, firehose: () => new Promise<never>(() => undefined) });
      const envs = ids(5);
      await h.sink.write(envs);
      await h.until(() => h.recorded.calls.length === 1, 5000, "a call in flight");
      const t0 = Date.now();
      const closed = await Promise.race([
        h.sink.close(300).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ]);
      assert.ok(closed, `close(300) had not returned after ${Date.now() - t0} ms`);
      await h.cleanup();

      const h2 = await openHarness({ dir, firehose: (records) => okReply(records.length) });
      await h2.until(() => h2.recorded.accepted.length === 5, 5000, "replayed");
      assert.deepEqual(sorted(h2.recorded.accepted), sorted(envs.map(lineOf)));
      await h2.cleanup();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("close flushes what it can within the deadline (no linger)", async () => {
    const h = await openHarness({ settings: { lingerMs: 10_000 }, firehose: (records) => okReply(records.length) });
    try {
      await h.sink.write(ids(10));
      await h.sink.close(2000);
      assert.equal(h.recorded.accepted.length, 10);
    } finally {
      await h.cleanup();
    }
  });

  test("close sends a batch that is already lingering at once, not after FIREHOSE_LINGER_MS", async () => {
    const h = await openHarness({ settings: { lingerMs: 10_000 }, firehose: (records) => okReply(records.length) });
    try {
      await h.sink.write(ids(10));
      // the shipper holds the lines, waiting for more (FIREHOSE_LINGER_MS is 10 s)
      await never(() => h.recorded.calls.length > 0, { forMs: 200, what: "a call before the linger ran out" });
      await h.sink.close(2000);
      assert.equal(h.recorded.accepted.length, 10);
    } finally {
      await h.cleanup();
    }
  });

  test("the spool bound answers SinkUnavailableError while Firehose is down; memory does not grow with it", async () => {
    const h = await openHarness({
      settings: { spoolMaxBytes: 1024 * 1024 },
      firehose: () => {
        throw awsError("ServiceUnavailableException", 500);
      },
    });
    try {
      let rejected: unknown;
      for (let i = 0; i < 200 && !rejected; i++) {
        await h.sink.write([envelopeOfSize(i, 10_000)]).catch((e) => (rejected = e));
      }
      assert.ok(rejected instanceof SinkUnavailableError);
      assert.match((rejected as Error).message, /spool is full/);
      assert.equal(h.sink.readiness().ready, false);
    } finally {
      await h.cleanup();
    }
  });
});

describe("firehose sink: bounded memory", () => {
  test("while Firehose hangs, the shipper holds at most FIREHOSE_MAX_IN_FLIGHT batches; the rest stays on disk", async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const h = await openHarness({
      settings: { maxInFlight: 2, lingerMs: 1 },
      firehose: async (records) => {
        await gate;
        return okReply(records.length);
      },
    });
    try {
      const envs = Array.from({ length: 12_000 }, (_, i) => envelopeOfSize(i, 1000)); // 12 MB
      for (let i = 0; i < envs.length; i += 500) await h.sink.write(envs.slice(i, i + 500));
      await h.until(() => h.recorded.calls.length === 2, 5000, "two calls in flight");
      await never(() => h.recorded.calls.length > 2, { forMs: 200, what: "a third call in flight" });
      const inMemory = h.recorded.calls.reduce((n, c) => n + c.length, 0);
      assert.ok(inMemory <= 2 * 4096, `lines held by in-flight calls: ${inMemory}`);
      assert.equal(await h.metric("spool_records"), 12_000);
      release!();
      await h.until(() => h.recorded.accepted.length === 12_000, 10_000, "all accepted");
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)));
    } finally {
      await h.cleanup();
    }
  });

  test("small segments, random partial failures, out-of-order acks: everything delivered, segment files cleaned up", async () => {
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const h = await openHarness({
      settings: { maxInFlight: 4, lingerMs: 1 },
      spoolSegmentBytes: 16 * 1024,
      packLimits: { maxLinesPerRecord: 7 },
      firehose: (records) => {
        const res = records.map((_, i) =>
          rnd() < 0.3
            ? { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." }
            : { RecordId: `r${i}` },
        );
        return { FailedPutCount: res.filter((r) => "ErrorCode" in r).length, RequestResponses: res };
      },
    });
    try {
      const envs = Array.from({ length: 3000 }, (_, i) => envelope(i, (i * 13) % 400));
      await Promise.all(Array.from({ length: 30 }, (_, k) => h.sink.write(envs.slice(k * 100, k * 100 + 100))));
      await h.until(() => h.recorded.accepted.length >= 3000, 15_000, "all accepted");
      assert.deepEqual(sorted(h.recorded.accepted), sorted(envs.map(lineOf)), "each exactly once");
      await h.sink.close(1000);
      const { readdir } = await import("node:fs/promises");
      const left = (await readdir(h.dir)).filter((n) => n.startsWith("seg-"));
      assert.deepEqual(left, [], "fully acknowledged segments are deleted");
    } finally {
      await h.cleanup();
    }
  });
});

export type { PutReply };
