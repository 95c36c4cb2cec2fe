import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { FirehoseService, PutOutcome } from "../../src/sink/firehose/service.js";
import type { Spool, SpooledLine } from "../../src/sink/spool/spool.js";
import { eventually } from "../helpers/eventually.js";
import { makeShipper } from "../helpers/shipper.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** 35,000 batches through the shipper (a few seconds): a soak test, so it lives with the integration tests. */
describe("firehose shipper: memory", () => {
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
        return { kind: "replied", entries: records.map(() => ({ ok: true as const, recordId: "r" })) };
      },
    } as unknown as FirehoseService;
    const shipper = makeShipper(spool, service, { maxRecordsPerBatch: 1, lingerMs: 0 });
    const heapAfter = async (n: number) => {
      await eventually(() => puts >= n, { timeoutMs: 30_000, what: `${n} batches` });
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
});
