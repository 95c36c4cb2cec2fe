import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_PACK_LIMITS, FIREHOSE_LIMITS } from "../../src/sink/firehose/config.js";
import { Pacer, TokenBucket } from "../../src/sink/firehose/pacer.js";
import { BatchBuilder, billedUnits, splitRecord } from "../../src/sink/firehose/packer.js";
import { RateController } from "../../src/sink/firehose/rate-controller.js";
import { classifyError } from "../../src/sink/firehose/service.js";
import { awsError } from "../helpers/firehose-harness.js";

const line = (bytes: number, ch = "x") => ({ payload: Buffer.from(`${ch.repeat(bytes - 1)}\n`) });

describe("packer limits", () => {
  test("defaults respect every Firehose limit", () => {
    assert.equal(DEFAULT_PACK_LIMITS.maxRecordBytes, 1_024_000);
    assert.equal(DEFAULT_PACK_LIMITS.maxLinesPerRecord, 500);
    assert.equal(DEFAULT_PACK_LIMITS.maxRecordsPerBatch, 500);
    assert.ok(DEFAULT_PACK_LIMITS.maxBatchBytes <= FIREHOSE_LIMITS.maxBatchBytes);
    assert.ok(
      DEFAULT_PACK_LIMITS.maxBatchBytes >= 4 * DEFAULT_PACK_LIMITS.maxRecordBytes,
      "four full records fit one batch",
    );
  });

  test("a line of exactly 1,024,000 bytes fits a record alone; one byte more never fits", () => {
    assert.equal(BatchBuilder.fitsInRecord(1_024_000, DEFAULT_PACK_LIMITS), true);
    assert.equal(BatchBuilder.fitsInRecord(1_024_001, DEFAULT_PACK_LIMITS), false);
    const b = new BatchBuilder(DEFAULT_PACK_LIMITS);
    assert.equal(b.tryAdd(line(1_024_000)), true);
    assert.equal(b.tryAdd(line(10)), true);
    assert.equal(b.records.length, 2, "a full record is closed, the next line opens a new one");
    assert.equal(b.records[0]!.bytes, 1_024_000);
    assert.throws(() => b.tryAdd(line(1_024_001)), RangeError);
  });

  test("at most 500 lines per record (multi-record deaggregation limit)", () => {
    const b = new BatchBuilder(DEFAULT_PACK_LIMITS);
    for (let i = 0; i < 501; i++) assert.equal(b.tryAdd(line(100)), true);
    assert.deepEqual(
      b.records.map((r) => r.lines.length),
      [500, 1],
    );
    assert.equal(b.records[0]!.bytes, 50_000);
  });

  test("exactly 500 records fit a batch; the next record does not", () => {
    const b = new BatchBuilder(DEFAULT_PACK_LIMITS);
    for (let i = 0; i < 500 * 500; i++) assert.equal(b.tryAdd(line(16)), true, `line ${i}`);
    assert.equal(b.records.length, 500);
    assert.equal(b.bytes, 4_000_000);
    assert.equal(b.tryAdd(line(16)), false);
    assert.equal(b.records.length, 500);
  });

  test("the batch byte bound is inclusive: exactly at the limit fits, one byte over does not", () => {
    const b = new BatchBuilder(DEFAULT_PACK_LIMITS);
    for (let i = 0; i < 4; i++) assert.equal(b.tryAdd(line(1_024_000)), true);
    assert.equal(b.bytes, DEFAULT_PACK_LIMITS.maxBatchBytes);
    assert.equal(b.tryAdd(line(1)), false);

    // with the limit set to exactly 4 MiB (the API's own bound)
    const fourMiB = { ...DEFAULT_PACK_LIMITS, maxBatchBytes: 4 * 1024 * 1024 };
    const c = new BatchBuilder(fourMiB);
    for (let i = 0; i < 4; i++) assert.equal(c.tryAdd(line(1_024_000)), true);
    assert.equal(c.tryAdd(line(4 * 1024 * 1024 - 4_096_000)), true);
    assert.equal(c.bytes, 4 * 1024 * 1024);
    assert.equal(c.tryAdd(line(1)), false);
  });

  test("lines keep their order and bytes; splitting a record halves its lines", () => {
    const b = new BatchBuilder(DEFAULT_PACK_LIMITS);
    const ls = ["a", "b", "c", "d", "e"].map((ch) => line(5, ch));
    for (const l of ls) b.tryAdd(l);
    assert.equal(b.records.length, 1);
    const [x, y] = splitRecord(b.records[0]!);
    assert.deepEqual(x.lines, ls.slice(0, 3));
    assert.deepEqual(y.lines, ls.slice(3));
    assert.equal(x.bytes + y.bytes, 25);
  });

  test("billing units round every record up to 5,120 bytes", () => {
    assert.equal(billedUnits(1), 1);
    assert.equal(billedUnits(5120), 1);
    assert.equal(billedUnits(5121), 2);
    assert.equal(billedUnits(1_024_000), 200);
  });
});

describe("error classification", () => {
  test("throttling, 5xx and network errors are retried; bad requests split; config errors block", () => {
    assert.equal(classifyError(awsError("ServiceUnavailableException", 500)).kind, "retryable");
    assert.equal(classifyError(awsError("ThrottlingException", 400)).kind, "retryable");
    assert.equal(classifyError(awsError("InternalFailure", 500)).kind, "retryable");
    assert.equal(classifyError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })).kind, "retryable");
    assert.equal(classifyError(awsError("TimeoutError", 0)).kind, "retryable");
    assert.equal(classifyError(awsError("InvalidArgumentException", 400)).kind, "invalid");
    assert.equal(
      classifyError(awsError("ValidationException", 400, "Member must have length less than or equal to 1024000")).kind,
      "invalid",
    );
    for (const code of [
      "ResourceNotFoundException",
      "AccessDeniedException",
      "InvalidKMSResourceException",
      "ExpiredTokenException",
      "UnrecognizedClientException",
    ]) {
      assert.equal(classifyError(awsError(code, 400)).kind, "blocked", code);
    }
    assert.equal(classifyError(awsError("SomethingNew", 403)).kind, "blocked");
  });
});

describe("pacing", () => {
  test("a token bucket lets a request bigger than its rate through, then makes the next one wait", () => {
    let now = 0;
    const b = new TokenBucket(1000, 1000, () => now);
    assert.equal(b.waitMs(), 0);
    b.take(4000);
    assert.equal(b.waitMs(), 3000);
    now = 3000;
    assert.equal(b.waitMs(), 0);
  });

  test("the pacer holds requests to the requests/s budget", async () => {
    const pacer = new Pacer({ requestsPerSecond: 20 }, new RateController({ initialRate: 1e12 }));
    const start = Date.now();
    for (let i = 0; i < 30; i++) await pacer.acquire(1, 1);
    const elapsed = Date.now() - start;
    // 20 in the initial burst, then 10 more at 20/s ≈ 500 ms
    assert.ok(elapsed >= 400 && elapsed < 2000, `elapsed ${elapsed} ms`);
  });
});
