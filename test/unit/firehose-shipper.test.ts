import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { DEFAULT_TUNING } from "../../src/sink/firehose/config.js";
import type { FirehoseService, PutOutcome } from "../../src/sink/firehose/service.js";
import { Shipper } from "../../src/sink/firehose/shipper.js";
import { registerProducerMetrics } from "../../src/sink/firehose/sink-metrics.js";
import type { Spool, SpooledLine } from "../../src/sink/spool/spool.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** One line per Firehose record, no pacing, one call in flight: only batching and the spool's behaviour matter. */
function makeShipper(
  spool: Spool,
  service: FirehoseService,
  opts: { maxRecordsPerBatch: number; lingerMs: number },
): Shipper {
  return new Shipper({
    spool,
    service,
    deadLetters: undefined,
    limits: {
      maxRecordBytes: 1_024_000,
      maxLinesPerRecord: 1,
      maxRecordsPerBatch: opts.maxRecordsPerBatch,
      maxBatchBytes: 4_096_000,
    },
    tuning: DEFAULT_TUNING,
    pacing: {},
    maxInFlight: 1,
    lingerMs: opts.lingerMs,
    logger: silentLogger(),
    metrics: registerProducerMetrics(new Metrics({ defaults: false }), spool),
  });
}

describe("firehose shipper", () => {
  test("memory does not grow with the number of batches and waits (no reactions piling up on long-lived promises)", async () => {
    // A spool that offers one line after each wait, and a Firehose that accepts everything at once.
    let available = 0;
    let offset = 0;
    let waits = 0;
    const spool = {
      peek: async (): Promise<SpooledLine | undefined> =>
        available > 0
          ? {
              segment: 1,
              start: offset,
              end: offset + 1,
              appendedAtMs: 1,
              payloadBytes: 3,
              payload: Buffer.from("{}\n"),
            }
          : undefined,
      consume: () => {
        available--;
        offset++;
      },
      waitForData: () => {
        waits++;
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            available = 1;
            resolve();
          }),
        );
      },
      hasUnread: () => available > 0,
      ack: () => undefined,
      stats: () => ({ records: 0, bytes: 0, diskBytes: 0, segments: 0, oldestAppendedAtMs: undefined }),
    } as unknown as Spool;
    let puts = 0;
    const service = {
      streamName: "test-stream",
      put: async (records: readonly unknown[]): Promise<PutOutcome> => {
        puts++;
        return { kind: "replied", failed: 0, entries: records.map(() => ({ ok: true as const, recordId: "r" })) };
      },
    } as unknown as FirehoseService;
    const shipper = makeShipper(spool, service, { maxRecordsPerBatch: 1, lingerMs: 0 });
    const heapAfter = async (n: number) => {
      while (puts < n) await new Promise((r) => setTimeout(r, 10));
      gc();
      return process.memoryUsage().heapUsed;
    };
    shipper.start();
    try {
      const before = await heapAfter(5_000);
      const after = await heapAfter(35_000);
      const grown = after - before;
      assert.ok(waits >= 30_000);
      assert.ok(grown < 8 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(1)} MiB over 30,000 batches`);
    } finally {
      await shipper.stop(0);
    }
  });
  test("a spool read error in the middle of a batch sends the lines already taken instead of stranding them", async () => {
    // Three lines readable, then the disk fails on the fourth read (once).
    let offset = 0;
    let failed = false;
    const spool = {
      peek: async (): Promise<SpooledLine | undefined> => {
        if (offset === 3 && !failed) {
          failed = true;
          throw new Error("EIO: i/o error, read");
        }
        return offset < 3
          ? {
              segment: 1,
              start: offset,
              end: offset + 1,
              appendedAtMs: 1,
              payloadBytes: 3,
              payload: Buffer.from("{}\n"),
            }
          : undefined;
      },
      consume: () => {
        offset++;
      },
      waitForData: () => new Promise<void>((resolve) => setTimeout(resolve, 20)),
      hasUnread: () => offset < 3,
      ack: () => undefined,
      stats: () => ({ records: 0, bytes: 0, diskBytes: 0, segments: 0, oldestAppendedAtMs: undefined }),
    } as unknown as Spool;
    const sent: number[] = [];
    const service = {
      streamName: "test-stream",
      put: async (records: readonly unknown[]): Promise<PutOutcome> => {
        sent.push(records.length);
        return { kind: "replied", failed: 0, entries: records.map(() => ({ ok: true as const, recordId: "r" })) };
      },
    } as unknown as FirehoseService;
    const shipper = makeShipper(spool, service, { maxRecordsPerBatch: 500, lingerMs: 60_000 });
    shipper.start();
    try {
      const deadline = Date.now() + 5_000;
      while (sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(sent, [3], "the three lines read before the error went out in one batch");
    } finally {
      await shipper.stop(0);
    }
  });
});
