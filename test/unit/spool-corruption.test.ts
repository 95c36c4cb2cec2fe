import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Logger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { registerProducerMetrics } from "../../src/sink/firehose/sink-metrics.js";
import { listSegmentFiles, Spool, type SpooledLine } from "../../src/sink/spool/spool.js";

interface LogEntry {
  level: string;
  message: string;
  meta: Record<string, unknown>;
}

function capturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (message: string, meta: Record<string, unknown> = {}) =>
      entries.push({ level, message, meta });
  const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } as unknown as Logger;
  return { logger, entries };
}

async function drain(spool: Spool): Promise<SpooledLine[]> {
  const out: SpooledLine[] = [];
  for (;;) {
    const l = await spool.peek(1_024_000);
    if (!l) return out;
    spool.consume();
    out.push(l);
  }
}

const record = (n: number) => Buffer.from(`{"n":${n},"pad":"${"x".repeat(60 + (n % 7))}"}\n`);

describe("spool recovery after corruption", () => {
  test("16 bytes flipped mid-segment: every intact frame after them is replayed, only the damaged bytes are set aside", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spool-corrupt-"));
    try {
      let spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger: capturingLogger().logger });
      for (let i = 0; i < 400; i++) await spool.append([record(i)]);
      const frames = await drain(spool);
      assert.equal(frames.length, 400);
      await spool.close(); // a clean shutdown, nothing acknowledged

      const [seg] = await listSegmentFiles(dir);
      const path = join(dir, seg!);
      const bytes = await readFile(path);
      const flipAt = Math.floor(bytes.length / 2);
      for (let i = flipAt; i < flipAt + 16; i++) bytes[i] = bytes[i]! ^ 0x5a;
      await writeFile(path, bytes);
      const damaged = frames.filter((f) => f.start < flipAt + 16 && f.end > flipAt);
      assert.ok(damaged.length >= 1 && damaged.length <= 2);

      const { logger, entries } = capturingLogger();
      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      const replayed = (await drain(spool)).map((l) => l.payload!.toString());
      const intact = frames.filter((f) => !damaged.includes(f)).map((f) => f.payload!.toString());
      assert.deepEqual(replayed, intact, `every intact frame is replayed (${replayed.length} of 400)`);
      assert.equal(spool.stats().records, intact.length);

      const logged = entries.find((e) => /corruption/.test(e.message));
      assert.ok(logged, `corruption is logged: ${JSON.stringify(entries)}`);
      assert.equal(logged.meta.segment, seg);
      assert.equal(logged.meta.offset, damaged[0]!.start);
      assert.equal(logged.meta.bytes, damaged.at(-1)!.end - damaged[0]!.start);
      assert.ok(!entries.some((e) => /torn tail/.test(e.message)), "not called a torn tail");

      const report = spool.corruption();
      assert.equal(report.files.length, 1);
      const metrics = new Metrics({ defaults: false });
      registerProducerMetrics(metrics, spool);
      assert.match((await metrics.render()).body, /wootric_firehose_spool_corrupt_files 1/);
      const aside = await readFile(join(dir, report.files[0]!));
      assert.equal(aside.length, logged.meta.bytes, "only the damaged bytes are set aside");
      assert.deepEqual(aside, bytes.subarray(damaged[0]!.start, damaged.at(-1)!.end));

      // Acknowledge everything, restart: the damaged range is not reported twice, the set-aside file still is.
      await spool.close();
      spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger });
      assert.equal((await drain(spool)).length, intact.length);
      assert.equal(spool.corruption().files.length, 1, "reported until an operator acknowledges it");
      // The documented acknowledgement: move the set-aside file out of the spool directory (or rename it *.reviewed).
      await rename(join(dir, report.files[0]!), join(dir, `${report.files[0]!}.reviewed`));
      assert.equal(spool.corruption().files.length, 0);
      await spool.close();
      assert.match((await metrics.render()).body, /wootric_firehose_spool_corrupt_files 0/);
      assert.ok((await readdir(dir)).some((n) => n.endsWith(".reviewed")));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
