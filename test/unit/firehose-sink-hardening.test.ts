import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { silentLogger } from "../../src/log.js";
import { RecordNotSerialisableError } from "../../src/sink/sink.js";
import { listSegmentFiles, Spool } from "../../src/sink/spool/spool.js";
import { envelope, okReply, openHarness } from "../helpers/firehose-harness.js";

describe("Firehose sink: per-request isolation and corruption reporting", () => {
  test("an envelope that cannot be serialised fails only its own write; the rest of the group commit is spooled", async () => {
    const h = await openHarness({ firehose: (records) => okReply(records.length) });
    try {
      const poisoned = envelope(0);
      poisoned.data.big = 1n as unknown as number;
      const results = await Promise.allSettled([
        ...Array.from({ length: 30 }, (_, i) => h.sink.write([envelope(i + 1)])),
        h.sink.write([poisoned]),
        ...Array.from({ length: 30 }, (_, i) => h.sink.write([envelope(i + 31)])),
      ]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 60);
      const failed = results[30]!;
      assert.ok(failed.status === "rejected" && failed.reason instanceof RecordNotSerialisableError);
      assert.equal(h.sink.readiness().ready, true);
      await h.until(() => h.recorded.accepted.length === 60, 10_000, "60 lines shipped");
    } finally {
      await h.cleanup();
    }
  });

  test("corrupt spool bytes set aside show as a /readyz warning until the file is renamed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "firehose-corrupt-"));
    try {
      const spool = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger: silentLogger() });
      for (let i = 0; i < 50; i++) await spool.append([Buffer.from(`${JSON.stringify(envelope(i))}\n`)]);
      await spool.close();
      const path = join(dir, (await listSegmentFiles(dir))[0]!);
      const bytes = await readFile(path);
      const mid = Math.floor(bytes.length / 2);
      bytes[mid] = bytes[mid]! ^ 0xff;
      await writeFile(path, bytes);

      const h = await openHarness({ firehose: (records) => okReply(records.length), dir });
      try {
        await h.until(() => h.recorded.accepted.length === 49, 10_000, "the 49 intact lines shipped");
        const r = h.sink.readiness();
        assert.equal(r.ready, true, "intake goes on");
        assert.match(String(r.warnings), /corrupt bytes set aside/);
        assert.equal(await h.metric("spool_corrupt_files"), 1);
        const name = (await readdir(dir)).find((n) => n.includes(".corrupt-"))!;
        await rename(join(dir, name), join(dir, `${name}.reviewed`));
        assert.equal(h.sink.readiness().warnings, undefined);
        assert.equal(await h.metric("spool_corrupt_files"), 0);
      } finally {
        await h.cleanup();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
