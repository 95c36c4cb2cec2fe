import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { constants, gzipSync } from "node:zlib";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { makeEnvelope, serializeEnvelope } from "../../src/records/envelope.js";
import { openFileSink } from "../../src/sink/file/open.js";
import type { Sink } from "../../src/sink/sink.js";
import { createApp } from "../../src/webhook/app.js";
import { listFiles, readClosedRecords } from "../helpers/data-files.js";
import { type RunningServer, serve } from "../helpers/http-server.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

/** A 2 MiB tmpfs: a real full disk. Needs root (mount); skipped with the reason otherwise. */
let mountDir: string | undefined;
let skip: string | false = false;
before(async () => {
  const dir = await mkdtemp(join(tmpdir(), "wf-fulldisk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "pipe" });
    mountDir = dir;
  } catch (err) {
    skip = `cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]})`;
    await rm(dir, { recursive: true, force: true });
  }
});
after(async () => {
  if (!mountDir) return;
  execFileSync("umount", [mountDir]);
  await rm(mountDir, { recursive: true, force: true });
});

/** Fills the filesystem until ENOSPC; returns the filler's path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, "filler");
  const fh = await open(path, "w");
  try {
    const chunk = Buffer.alloc(4096, 1);
    // tmpfs answers a short write, then ENOSPC.
    for (;;) if ((await fh.write(chunk)).bytesWritten === 0) break;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    await fh.close();
  }
  return path;
}

const SECRET = "a-test-secret-of-32-characters!!";

/** What a crash leaves: sync-flushed gzip without a trailer, ~1.15 MiB of barely compressible records. */
async function leaveOpenFile(dataDir: string, records: number): Promise<string> {
  const partition = join(dataDir, "entity=response", "dt=2026-11-27");
  await mkdir(partition, { recursive: true });
  const lines = Array.from({ length: records }, (_, i) =>
    serializeEnvelope(
      makeEnvelope(
        "response",
        { id: i + 1, text: randomBytes(1500).toString("base64"), updated_at: 1_764_000_000 },
        { source: "webhook", receivedAt: new Date("2026-11-27T08:00:00Z") },
      ),
    ),
  );
  const leftover = join(partition, "part-20261127T080000Z-1-abcdef-000001.json.gz.open");
  // A torn tail after the last sync flush, as a crash mid-append leaves.
  const body = gzipSync(lines.join(""), { finishFlush: constants.Z_SYNC_FLUSH });
  await writeFile(leftover, Buffer.concat([body, Buffer.from([0x12, 0x34, 0x56])]));
  return leftover;
}

async function openSink(dataDir: string) {
  return openFileSink({
    settings: { kind: "file", dataDir, rotateBytes: 64 * 1024 * 1024, rotateSeconds: 3600 },
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    recoveryRetryMs: 50,
  });
}

function serveWebhooks(sink: Sink): Promise<RunningServer> {
  return serve(
    createApp({
      sink,
      logger: silentLogger(),
      metrics: new Metrics({ defaults: false }),
      secrets: [SECRET],
      allowUnsigned: false,
      maxBodyBytes: 1024 * 1024,
      readiness: () => sink.readiness(),
    }),
  );
}

describe("file sink on a full disk", () => {
  test("a leftover .open file larger than the free space is finalised in place at start-up", async (t) => {
    if (skip) return t.skip(skip);
    const dataDir = join(mountDir!, "a");
    const leftover = await leaveOpenFile(dataDir, 1000);
    assert.ok((await stat(leftover)).size > 1024 * 1024);
    const filler = await fillDisk(mountDir!);
    // 256 KiB free: enough for the lock file, far less than rewriting the leftover file beside itself needs.
    await truncate(filler, (await stat(filler)).size - 256 * 1024);
    try {
      const sink = await openSink(dataDir);
      assert.deepEqual(sink.readiness(), { ready: true });
      await sink.close(5000);
      const records = await readClosedRecords(dataDir);
      assert.equal(records.length, 1000, "every synced record is in the finalised file");
      assert.equal(spawnSync("gzip", ["-t", leftover.slice(0, -".open".length)]).status, 0, "gzip -t accepts it");
    } finally {
      await rm(filler);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("with no space at all: 503 with the reason and the path, /healthz alive, start-up finishes when space returns", async (t) => {
    if (skip) return t.skip(skip);
    const dataDir = join(mountDir!, "b");
    await leaveOpenFile(dataDir, 300);
    const filler = await fillDisk(mountDir!);
    const sink = await openSink(dataDir);
    const { url, close } = await serveWebhooks(sink);
    try {
      assert.equal((await fetch(`${url}/healthz`)).status, 200, "alive");
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503);
      const reason = String(((await ready.json()) as { reason: string }).reason);
      assert.match(reason, /disk is full/);
      assert.match(reason, /DATA_DIR\/\.file-sink\.lock/, "names the file it cannot write");
      assert.equal((await postWebhook(url, responseWebhook(1), { secret: SECRET })).status, 503, "sender retries");

      await rm(filler); // space returns
      while (!sink.readiness().ready) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await postWebhook(url, responseWebhook(2), { secret: SECRET })).status, 200);
    } finally {
      await close();
      await sink.close(5000);
    }
    const records = await readClosedRecords(dataDir);
    assert.equal(records.length, 301, "every leftover record and the new one are in closed files");
    assert.ok(!(await listFiles(dataDir)).some((f) => f.endsWith(".open") || f.endsWith(".recovering")));
  });
});
