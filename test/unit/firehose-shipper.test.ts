import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FirehoseService, PutOutcome } from "../../src/sink/firehose/service.js";
import type { Spool, SpooledLine } from "../../src/sink/spool/spool.js";
import { eventually } from "../helpers/eventually.js";
import { makeShipper } from "../helpers/shipper.js";

describe("firehose shipper", () => {
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
        return { kind: "replied", entries: records.map(() => ({ ok: true as const, recordId: "r" })) };
      },
    } as unknown as FirehoseService;
    const shipper = makeShipper(spool, service, { maxRecordsPerBatch: 500, lingerMs: 60_000 });
    shipper.start();
    try {
      await eventually(() => sent.length > 0, { timeoutMs: 5_000, what: "a batch to be sent" }).catch(() => undefined);
      assert.deepEqual(sent, [3], "the three lines read before the error went out in one batch");
    } finally {
      await shipper.stop(0);
    }
  });
});
