import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { silentLogger } from "../../src/log.js";
import { SEGMENT_MAGIC } from "../../src/sink/spool/frame.js";
import { listSegmentFiles, Spool, type SpooledLine } from "../../src/sink/spool/spool.js";

async function drain(spool: Spool): Promise<SpooledLine[]> {
  const out: SpooledLine[] = [];
  for (;;) {
    const l = await spool.peek(10_000_000);
    if (!l) return out;
    spool.consume();
    out.push(l);
  }
}

const damage = fc.record({
  /** Which segment, as a fraction of the segment count. */
  segment: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  /** Where in it, as a fraction past the segment header. */
  at: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  kind: fc.constantFrom("flip", "flip-run", "truncate", "zero-run"),
  length: fc.integer({ min: 1, max: 64 }),
});

test("spool recovery: random truncations and byte flips never lose an intact acknowledged frame", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 40 }),
      fc.array(damage, { minLength: 1, maxLength: 4 }),
      async (sizes, damages) => {
        const dir = await mkdtemp(join(tmpdir(), "fuzz-spool-"));
        try {
          // fsync off: no machine crash is simulated here, only damage to the files, and the runs stay fast.
          const opts = { dir, maxBytes: 64 * 1024 * 1024, logger: silentLogger(), segmentBytes: 4096, fsync: false };
          let spool = await Spool.open(opts);
          // A few appends of a few records each, so several segments fill up.
          for (let i = 0; i < sizes.length; i += 5) {
            await spool.append(sizes.slice(i, i + 5).map((size, j) => Buffer.from(`${i + j}:${"x".repeat(size)}\n`)));
          }
          const written = await drain(spool);
          await spool.close();
          const segments = await listSegmentFiles(dir);
          const segSeq = (name: string) => Number(/seg-(\d+)/.exec(name)![1]);
          // Bytes touched per segment; a truncated segment loses everything from the cut on.
          const touched = new Map<number, [number, number][]>();
          for (const d of damages) {
            const name = segments[Math.floor(d.segment * segments.length)]!;
            const path = join(dir, name);
            const bytes = await readFile(path);
            if (bytes.length <= SEGMENT_MAGIC.length) continue;
            // A cut inside the segment header leaves a file with no frame: the header itself is not truncated.
            const from = d.kind === "truncate" ? SEGMENT_MAGIC.length : 0;
            const at = from + Math.floor(d.at * (bytes.length - from));
            const ranges = touched.get(segSeq(name)) ?? [];
            if (d.kind === "truncate") {
              await truncate(path, at);
              ranges.push([at, Number.MAX_SAFE_INTEGER]);
            } else {
              const end = Math.min(bytes.length, at + (d.kind === "flip" ? 1 : d.length));
              for (let i = at; i < end; i++) bytes[i] = d.kind === "zero-run" ? 0 : bytes[i]! ^ (1 + (i % 255));
              await writeFile(path, bytes);
              ranges.push([at, end]);
            }
            touched.set(segSeq(name), ranges);
          }
          const intact = written.filter(
            (f) => !(touched.get(f.segment) ?? []).some(([a, b]) => f.start < b && f.end > a),
          );

          spool = await Spool.open(opts);
          const replayed = new Set((await drain(spool)).map((l) => l.payload!.toString()));
          await spool.close();
          const appended = new Set(written.map((f) => f.payload!.toString()));
          for (const p of replayed) assert.ok(appended.has(p), "nothing replayed that was not appended");
          for (const f of intact) {
            assert.ok(replayed.has(f.payload!.toString()), `intact frame ${f.segment}:${f.start} was replayed`);
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 25 },
  );
});
