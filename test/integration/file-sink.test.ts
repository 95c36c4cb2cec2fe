import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { type Envelope, makeEnvelope } from "../../src/records/envelope.js";
import { openFileSink } from "../../src/sink/file/open.js";
import { readIntactLines, recoverOpenFiles } from "../../src/sink/file/recovery.js";
import { SinkUnavailableError } from "../../src/sink/sink.js";
import { listFiles, readClosedRecords } from "../helpers/data-files.js";
import { eventually } from "../helpers/eventually.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "wf-filesink-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function response(id: number, receivedAt = new Date("2026-11-27T08:00:00Z")): Envelope {
  return makeEnvelope(
    "response",
    {
      id,
      score: id % 11,
      text: `comment ${id} ${randomBytes(24).toString("hex")}`,
      updated_at: "2026-11-27 00:00:00 -0800",
    },
    { source: "webhook", receivedAt },
  );
}

async function open(dataDir: string, rotateBytes = 64 * 1024 * 1024, rotateSeconds = 3600) {
  return openFileSink({
    settings: { kind: "file", dataDir, rotateBytes, rotateSeconds },
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
  });
}

describe("file sink", () => {
  test("concurrent writes are group-committed and every acknowledged record is in a closed file", async () => {
    const dataDir = await tempDir();
    const metrics = new Metrics({ defaults: false });
    const sink = await openFileSink({
      settings: { kind: "file", dataDir, rotateBytes: 1 << 26, rotateSeconds: 3600 },
      logger: silentLogger(),
      metrics,
    });
    await Promise.all(Array.from({ length: 300 }, (_, i) => sink.write([response(i + 1)])));
    const text = await metrics.render();
    const batches = Number(/wootric_firehose_file_sink_batches_total (\d+)/.exec(text.body)?.[1]);
    assert.ok(batches >= 1 && batches < 300, `expected group commit, got ${batches} batches for 300 writes`);
    assert.match(text.body, /wootric_firehose_file_sink_records_written_total\{entity="response"\} 300/);
    await sink.close(5000);
    const records = await readClosedRecords(dataDir);
    assert.deepEqual(
      records.map((r) => r.envelope.id).sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    assert.ok(records.every((r) => r.file.startsWith("entity=response/dt=2026-11-27/part-")));
    assert.ok(!(await listFiles(dataDir)).some((f) => f.endsWith(".open")), "no open files after close");
  });

  test("records are readable from disk while the file is still open (sync flush + fsync before resolve)", async () => {
    const dataDir = await tempDir();
    const sink = await open(dataDir);
    await sink.write([response(1), response(2)]);
    const files = await listFiles(dataDir);
    const openFile = files.find((f) => f.endsWith(".json.gz.open"));
    assert.ok(openFile, `an open file exists: ${files.join(", ")}`);
    const text = await readIntactLines(await readFile(join(dataDir, openFile)));
    assert.equal(text.split("\n").filter(Boolean).length, 2);
    // zcat reads all flushed data (warning about the missing trailer on stderr).
    const z = spawnSync("zcat", [join(dataDir, openFile)], { encoding: "utf8" });
    assert.equal(z.stdout.split("\n").filter(Boolean).length, 2);
    await sink.close(5000);
  });

  test("rotates by size and by age, partitions by entity and day", async () => {
    const dataDir = await tempDir();
    const sink = await open(dataDir, 1024, 1);
    for (let i = 0; i < 40; i++) await sink.write([response(i + 1)]);
    const dl = makeEnvelope("decline", { id: 7 }, { source: "poll", receivedAt: new Date("2026-11-28T00:00:01Z") });
    await sink.write([dl]);
    const before = (await listFiles(dataDir)).filter((f) => f.endsWith(".json.gz"));
    assert.ok(before.length >= 2, `size rotation produced closed files: ${before.join(", ")}`);
    // files older than a second are closed by age, with no write to trigger it
    const after = await eventually(
      async () => {
        const files = await listFiles(dataDir);
        return files.some((f) => f.endsWith(".open")) ? undefined : files;
      },
      { timeoutMs: 10_000, what: "age rotation to close every file" },
    );
    assert.ok(after.includes(after.find((f) => f.startsWith("entity=decline/dt=2026-11-28/"))!));
    const records = await readClosedRecords(dataDir);
    assert.equal(records.length, 41);
    await sink.close(5000);
  });

  test("a file left open by a crash is finalised on start with every synced record", async () => {
    const dataDir = await tempDir();
    const sink = await open(dataDir);
    for (let i = 0; i < 20; i++) await sink.write([response(i + 1)]);
    // Simulate a crash: no close. Append a torn tail as a half-written flush would leave.
    const openFile = (await listFiles(dataDir)).find((f) => f.endsWith(".open"))!;
    const path = join(dataDir, openFile);
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0x12, 0x34, 0x56])]));
    const recovered = await recoverOpenFiles(dataDir);
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0]!.lines, 20);
    const records = await readClosedRecords(dataDir);
    assert.equal(records.length, 20);
    assert.equal(spawnSync("gzip", ["-t", recovered[0]!.path]).status, 0, "gzip -t accepts the finalised file");
    // The "crashed" sink still lives in this process, with its rotation timer and lock heartbeat: stop it so nothing
    // of it runs after the test (its file was finalised above; closing it may only complain about that).
    await sink.close(0).catch(() => undefined);
  });

  test("rejects with SinkUnavailableError when it cannot write, then recovers", async () => {
    const dataDir = await tempDir();
    const sink = await open(dataDir);
    // A regular file where the partition directory should be: mkdir fails with ENOTDIR/EEXIST even as root.
    await writeFile(join(dataDir, "entity=response"), "not a directory");
    await assert.rejects(sink.write([response(1)]), SinkUnavailableError);
    assert.equal(sink.readiness().ready, false);
    await rm(join(dataDir, "entity=response"));
    await mkdir(join(dataDir, "entity=response"));
    await sink.write([response(2)]);
    assert.equal(sink.readiness().ready, true);
    await sink.close(5000);
    assert.deepEqual(
      (await readClosedRecords(dataDir)).map((r) => r.envelope.id),
      [2],
    );
  });

  test("one envelope that cannot be serialised fails only its own write, never the rest of the group commit", async () => {
    const dataDir = await tempDir();
    const sink = await open(dataDir);
    const poisoned = response(0);
    // A value JSON.stringify throws on, whatever the stack depth: stands for any record that cannot be serialised.
    poisoned.data.big = 1n as unknown as number;
    const results = await Promise.allSettled([
      ...Array.from({ length: 50 }, (_, i) => sink.write([response(i + 1)])),
      sink.write([poisoned]),
      ...Array.from({ length: 50 }, (_, i) => sink.write([response(i + 51)])),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 100, "every other write succeeded");
    assert.equal(results[50]!.status, "rejected");
    assert.equal(sink.readiness().ready, true, "a bad record is not a sink failure");
    await sink.close(5000);
    assert.equal((await readClosedRecords(dataDir)).length, 100);
  });

  test("write after close is refused", async () => {
    const sink = await open(await tempDir());
    await sink.close(1000);
    await assert.rejects(sink.write([response(1)]), SinkUnavailableError);
  });
});

describe("file sink: one process per DATA_DIR", () => {
  test("refuses a DATA_DIR locked by another live process, takes over a stale lock", async () => {
    const dataDir = await tempDir();
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await writeFile(
        join(dataDir, ".file-sink.lock"),
        JSON.stringify({ host: hostname(), pid: other.pid, heartbeatAt: Date.now() }),
      );
      await assert.rejects(open(dataDir), /in use by another wootric-firehose process/);
    } finally {
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
    }
    // The process is gone: its lock is stale.
    const sink = await open(dataDir);
    assert.equal(
      (JSON.parse(await readFile(join(dataDir, ".file-sink.lock"), "utf8")) as { pid: number }).pid,
      process.pid,
    );
    await sink.close(1000);
    assert.ok(!(await listFiles(dataDir)).includes(".file-sink.lock"), "lock released on close");
  });
});
