import assert from "node:assert/strict";
import { appendFile, mkdir, readdir, readFile, rename, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../../src/log.js";
import { DirectoryInUseError } from "../../src/sink/dir-lock.js";
import { SinkUnavailableError } from "../../src/sink/sink.js";
import { ackLogPath } from "../../src/sink/spool/ack-log.js";
import { encodeFrame, FRAME_HEADER_BYTES } from "../../src/sink/spool/frame.js";
import { listSegmentFiles, Spool, type SpooledLine } from "../../src/sink/spool/spool.js";
import { eventually } from "../helpers/eventually.js";
import { withTempDir } from "../helpers/temp-dir.js";

const SPOOL_LOCK_FILE = ".spool.lock";

const logger = silentLogger();

function lines(n: number, from = 0, size = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(`{"n":${from + i}${size ? `,"pad":"${"x".repeat(size)}"` : ""}}\n`),
  );
}

/** Reads every unacknowledged record currently readable. */
async function drain(spool: Spool): Promise<SpooledLine[]> {
  const out: SpooledLine[] = [];
  for (;;) {
    const l = await spool.peek(1_024_000);
    if (!l) return out;
    spool.consume();
    out.push(l);
  }
}

/**
 * The lock holder of another host's task: refreshes the lock every `everyMs` (write + rename, like the real one), one
 * refresh at a time, until stop(), which waits for the refresh in flight so nothing runs after the test.
 */
async function foreignHolder(lockPath: string, everyMs: number): Promise<{ stop(): Promise<void> }> {
  const stopped = new AbortController();
  const beat = async () => {
    const tmp = `${lockPath}.other-host.tmp`;
    await writeFile(tmp, JSON.stringify({ host: "other-host", pid: 1, heartbeatAt: Date.now() }));
    await rename(tmp, lockPath);
  };
  await beat();
  const beating = (async () => {
    while (!stopped.signal.aborted) {
      await sleep(everyMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      if (!stopped.signal.aborted) await beat();
    }
  })();
  return {
    stop: async () => {
      stopped.abort();
      await beating;
    },
  };
}

const text = (ls: SpooledLine[]) => ls.map((l) => l.payload!.toString());

describe("spool", () => {
  test("appends are durable and read back in order; group commit shares fsyncs", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      await Promise.all(lines(200).map((l) => spool.append([l])));
      assert.ok(spool.commits < 200, `expected group commits, got ${spool.commits} fsyncs for 200 appends`);
      const read = await drain(spool);
      assert.deepEqual(text(read), lines(200).map(String));
      assert.equal(spool.stats().records, 200);
      await spool.close();
    });
  });

  test("unacknowledged records are replayed after a restart; acknowledged ones are not", async () => {
    await withTempDir("spool-test-", async (dir) => {
      let spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      await spool.append(lines(10));
      const read = await drain(spool);
      spool.ack([read[0]!, read[3]!, read[4]!, read[9]!]);
      await spool.close();

      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal(spool.stats().records, 6);
      const replay = await drain(spool);
      assert.deepEqual(
        text(replay),
        [1, 2, 5, 6, 7, 8].map((n) => `{"n":${n}}\n`),
      );
      await spool.append(lines(1, 100));
      const next = await drain(spool);
      assert.deepEqual(text(next), ['{"n":100}\n']);
      await spool.close();
    });
  });

  test("a segment file is deleted only once every record in it is acknowledged", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger, segmentBytes: 4096, ackFlushMs: 1 });
      for (let i = 0; i < 30; i++) await spool.append(lines(1, i, 400)); // ~430 B each → several segments
      const files = await listSegmentFiles(dir);
      assert.ok(files.length >= 3, `expected several segments, got ${files.length}`);
      const read = await drain(spool);
      assert.equal(read.length, 30);
      const firstSeg = read[0]!.segment;
      const inFirst = read.filter((l) => l.segment === firstSeg);
      // all but one record of the first segment acknowledged: it must stay
      spool.ack(inFirst.slice(0, -1));
      // the acknowledgements have been flushed (the ack log holds them): the segment must still be there
      await eventually(() => stat(ackLogPath(join(dir, files[0]!))).then((s) => s.size > 0), {
        what: "the first segment's ack log to be written",
      });
      assert.ok(
        (await listSegmentFiles(dir)).includes(files[0]!),
        "segment deleted while a record in it was unacknowledged",
      );
      spool.ack(inFirst.slice(-1));
      await eventually(async () => !(await listSegmentFiles(dir)).includes(files[0]!), {
        timeoutMs: 5000,
        what: "the fully acknowledged segment to be deleted",
      });
      // acknowledge everything: only the active segment may remain, and its records count is zero
      spool.ack(read);
      await spool.close();
      assert.equal((await listSegmentFiles(dir)).length, 0);
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.endsWith(".acks")),
        [],
      );
    });
  });

  test("a segment whose close fails at rollover is still sealed: the reader moves on to the next segment", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger, segmentBytes: 4096 });
      await spool.append(lines(1, 0, 400));
      // The active segment's file handle fails to close (EIO, as NFS/EFS may report at close).
      const { fh } = (spool as unknown as { writer: { active: { fh: { close: () => Promise<void> } } } }).writer.active;
      const realClose = fh.close.bind(fh);
      let failed = false;
      fh.close = () => {
        void realClose();
        failed = true;
        return Promise.reject(Object.assign(new Error("EIO: i/o error, close"), { code: "EIO" }));
      };
      const appended = [String(lines(1, 0, 400)[0])];
      for (let i = 1; i < 20; i++) {
        if (
          await spool.append(lines(1, i, 400)).then(
            () => true,
            () => false,
          )
        )
          appended.push(String(lines(1, i, 400)[0]));
      }
      assert.ok(failed, "the rollover close was made to fail");
      assert.ok(appended.length >= 18);
      assert.deepEqual(text(await drain(spool)), appended, "every appended record is readable");
      await spool.close();
    });
  });

  test("a failed group commit is reported for a while, not until the next success (which may never come without traffic)", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger, brokenForMs: 300 });
      // A directory where the first segment file should be: open(wx) fails with EEXIST, even as root.
      await mkdir(join(dir, "seg-000000000001.log"));
      await assert.rejects(spool.append(lines(1)), SinkUnavailableError);
      assert.match(spool.brokenReason ?? "", /EEXIST/);
      // brokenForMs is 300 ms: the report must clear by itself soon after, with no append since
      await eventually(() => spool.brokenReason === undefined, {
        timeoutMs: 2000,
        what: "the broken report to clear without a new append",
      });
      await spool.append(lines(1, 1));
      assert.deepEqual(text(await drain(spool)), lines(1, 1).map(String));
      await spool.close();
    });
  });

  test("a torn tail (partial frame after a crash) is cut off and never misread", async () => {
    await withTempDir("spool-test-", async (dir) => {
      let spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      await spool.append(lines(5));
      await spool.close();
      const [seg] = await listSegmentFiles(dir);
      const path = join(dir, seg!);
      const goodSize = (await stat(path)).size;
      // a frame whose header promises more bytes than were written before the crash
      const frame = encodeFrame(Buffer.from('{"n":"torn"}\n'), Date.now());
      await appendFile(path, frame.subarray(0, frame.length - 3));

      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.deepEqual(text(await drain(spool)), lines(5).map(String));
      assert.equal((await stat(path)).size, goodSize);
      assert.ok(
        (await readdir(dir)).some((n) => n.includes(".torn-")),
        "torn bytes kept aside",
      );
      await spool.close();
    });
  });

  test("a complete last frame with a bad checksum, or a zero-filled tail, is cut off too", async () => {
    await withTempDir("spool-test-", async (dir) => {
      let spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      await spool.append(lines(3));
      await spool.close();
      const [seg] = await listSegmentFiles(dir);
      const path = join(dir, seg!);
      const frame = encodeFrame(Buffer.from('{"n":"flipped"}\n'), Date.now());
      frame.writeUInt8(frame.readUInt8(FRAME_HEADER_BYTES + 3) ^ 0xff, FRAME_HEADER_BYTES + 3);
      await appendFile(path, Buffer.concat([frame, Buffer.alloc(4096)]));
      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.deepEqual(text(await drain(spool)), lines(3).map(String));
      await spool.close();

      // zero-filled tail only (what some filesystems leave after a crash)
      const size = (await stat(path)).size;
      await appendFile(path, Buffer.alloc(1000));
      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal((await stat(path)).size, size);
      assert.equal(spool.stats().records, 3);
      await spool.close();
    });
  });

  test("a segment created but cut before its header is removed; a foreign file is moved aside", async () => {
    await withTempDir("spool-test-", async (dir) => {
      await writeFile(join(dir, "seg-000000000001.log"), Buffer.from("WFS"));
      await writeFile(join(dir, "seg-000000000002.log"), Buffer.from("not a spool segment at all"));
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal(spool.stats().records, 0);
      await spool.append(lines(1));
      assert.deepEqual(text(await drain(spool)), ['{"n":0}\n']);
      await spool.close();
      const names = await readdir(dir);
      assert.ok(names.some((n) => n.startsWith("seg-000000000002.log.foreign-")));
      assert.ok(!names.includes("seg-000000000001.log"));
    });
  });

  test("when full, append rejects with SinkUnavailableError and accepts again once records are acknowledged", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 1024 * 1024, logger, segmentBytes: 64 * 1024, ackFlushMs: 1 });
      const big = lines(1, 0, 100 * 1024)[0]!;
      let accepted = 0;
      let rejected: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          await spool.append([big]);
          accepted++;
        } catch (err) {
          rejected = err;
          break;
        }
      }
      assert.ok(rejected instanceof SinkUnavailableError, `expected SinkUnavailableError, got ${String(rejected)}`);
      assert.match((rejected as Error).message, /spool is full/);
      assert.ok(accepted >= 8 && accepted <= 10, `accepted ${accepted}`);
      assert.ok(spool.diskBytes() <= 1024 * 1024);
      // forced appends (dead letters replacing a record) bypass the bound
      await spool.append([Buffer.from('{"dl":1}\n')], { force: true });
      spool.ack(await drain(spool));
      await eventually(() => spool.diskBytes() + big.length + 16 <= 1024 * 1024, {
        timeoutMs: 5000,
        what: "acknowledged segments to free room in the spool",
      });
      await spool.append([big]);
      await spool.close();
      await assert.rejects(spool.append([big]), SinkUnavailableError);
    });
  });

  test("large payloads are not read inline; readPayload fetches and verifies them", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      const big = Buffer.from(`${"y".repeat(2_000_000)}\n`);
      await spool.append([Buffer.from("a\n"), big, Buffer.from("b\n")]);
      const a = await spool.peek(1_024_000);
      spool.consume();
      const b = await spool.peek(1_024_000);
      spool.consume();
      const c = await spool.peek(1_024_000);
      spool.consume();
      assert.equal(a!.payload!.toString(), "a\n");
      assert.equal(b!.payload, undefined);
      assert.equal(b!.payloadBytes, big.length);
      assert.ok((await spool.readPayload(b!)).equals(big));
      assert.equal(c!.payload!.toString(), "b\n");
      await spool.close();
    });
  });

  test("reports the oldest unacknowledged record's age", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal(spool.stats().oldestAppendedAtMs, undefined);
      const before = Date.now();
      await spool.append(lines(2));
      const [first, second] = await drain(spool);
      const oldest = spool.stats().oldestAppendedAtMs!;
      assert.ok(oldest >= before - 1 && oldest <= Date.now());
      spool.ack([first!]);
      assert.equal(spool.stats().oldestAppendedAtMs, second!.appendedAtMs);
      spool.ack([second!]);
      assert.equal(spool.stats().records, 0);
      assert.equal(spool.stats().oldestAppendedAtMs, undefined);
      await spool.close();
      // the ack log survives a restart intact
      const again = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal(again.stats().records, 0);
      await again.close();
    });
  });

  test("a torn ack log only causes re-sends, never a loss", async () => {
    await withTempDir("spool-test-", async (dir) => {
      let spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      await spool.append(lines(4));
      const read = await drain(spool);
      spool.ack(read.slice(0, 2));
      await spool.close();
      const acks = (await readdir(dir)).find((n) => n.endsWith(".acks"))!;
      const ackPath = join(dir, acks);
      const full = await readFile(ackPath);
      await truncate(ackPath, full.length - 2);
      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal(spool.stats().records, 4);
      assert.deepEqual(text(await drain(spool)), lines(4).map(String));
      await spool.close();
    });
  });

  test("one writer per spool directory: a live holder elsewhere is refused, a silent one is taken over", async () => {
    await withTempDir("spool-test-", async (dir) => {
      const lockPath = join(dir, SPOOL_LOCK_FILE);
      const holder = await foreignHolder(lockPath, 50);
      try {
        await assert.rejects(
          Spool.open({ dir, maxBytes: 1024 * 1024, logger, lock: { heartbeatMs: 100, staleMs: 2000 } }),
          DirectoryInUseError,
        );
      } finally {
        await holder.stop();
      }
      // the other holder stops refreshing (its task died): the lock goes stale and is taken over
      const t0 = Date.now();
      const spool = await Spool.open({ dir, maxBytes: 1024 * 1024, logger, lock: { heartbeatMs: 100, staleMs: 2000 } });
      assert.ok(Date.now() - t0 < 10_000);
      const content = JSON.parse(await readFile(lockPath, "utf8")) as { pid: number };
      assert.equal(content.pid, process.pid);
      await spool.close();
      await assert.rejects(readFile(lockPath), /ENOENT/);
    });
  });
});
