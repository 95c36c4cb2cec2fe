import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { mkdirDurable } from "../../common/durable-fs.js";
import type { Config } from "../../config/index.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import type { Readiness } from "../../ops/readiness.js";
import { type Envelope, partitionOf, serializeEnvelope } from "../../records/envelope.js";
import { RecordNotSerialisableError, type Sink, SinkUnavailableError } from "../sink.js";
import { GzipFileWriter } from "./gzip-file.js";
import { recoverOpenFile } from "./recovery.js";

export type FileSinkSettings = Extract<Config["sink"], { kind: "file" }>;

const UNREADY_AFTER_ERROR_MS = 10_000;

/** One envelope already serialised, with where it goes. */
interface SerialisedLine {
  partition: string;
  entity: string;
  line: string;
}

interface PendingWrite {
  lines: SerialisedLine[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The embedded sink: gzip JSON lines under DATA_DIR in the same `entity=<entity>/dt=YYYY-MM-DD/` layout as S3.
 *
 * Group commit: writes arriving while a batch is being made durable wait and go together in the next batch. A batch
 * is appended to one open file per partition, each file is sync-flushed and fsynced, and only then do the batch's
 * writes resolve. Files rotate by size (FILE_ROTATE_BYTES, compressed) and age (FILE_ROTATE_SECONDS); an open file is
 * named `*.json.gz.open` and renamed to `*.json.gz` when closed.
 */
export class FileSink implements Sink {
  readonly kind = "file";
  private readonly writers = new Map<string, GzipFileWriter>();
  private queue: PendingWrite[] = [];
  /** Serialises every file operation: batches, rotation, close. */
  private chain: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;
  private lastError: { message: string; at: number } | undefined;
  /** Set while start-up (lock, finalising leftover files) waits for disk space: writes are refused with this reason. */
  private startPending: string | undefined;
  private seq = 0;
  private readonly runId = randomBytes(3).toString("hex");
  private readonly timer: NodeJS.Timeout;
  private readonly m;

  constructor(
    private readonly settings: FileSinkSettings,
    private readonly logger: Logger,
    metrics: Metrics,
    private lock: { release(): Promise<void> } = { release: async () => undefined },
  ) {
    this.m = {
      records: metrics.counter("file_sink_records_written_total", "Records made durable by the file sink, by entity", [
        "entity",
      ]),
      bytes: metrics.counter("file_sink_bytes_written_total", "Compressed bytes written by the file sink"),
      batches: metrics.counter("file_sink_batches_total", "Group commits (sync flush + fsync rounds)"),
      errors: metrics.counter("file_sink_errors_total", "Batches that could not be made durable"),
      files: metrics.counter("file_sink_files_closed_total", "Files closed and renamed to .json.gz"),
    };
    const tick = Math.min(1000, settings.rotateSeconds * 1000);
    this.timer = setInterval(() => void this.rotateAged(), tick);
    this.timer.unref();
  }

  write(envelopes: readonly Envelope[]): Promise<void> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("file sink is closed"));
    if (this.startPending !== undefined) return Promise.reject(new SinkUnavailableError(this.startPending));
    if (envelopes.length === 0) return Promise.resolve();
    // Serialised before joining a batch: a record that cannot be serialised fails its own write, never the batch.
    let lines: SerialisedLine[];
    try {
      lines = envelopes.map((env) => {
        const { entity, dt } = partitionOf(env);
        return { partition: `entity=${entity}/dt=${dt}`, entity, line: serializeEnvelope(env) };
      });
    } catch (err) {
      return Promise.reject(new RecordNotSerialisableError((err as Error).message, { cause: err }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ lines, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.enqueue(() => this.drain());
      }
    });
  }

  readiness(): Readiness {
    if (this.closed) return { ready: false, reason: "file sink closed" };
    if (this.startPending !== undefined) return { ready: false, reason: this.startPending };
    // Not ready for a while after a failed batch, not until the next success: with no traffic (a load balancer
    // that stopped sending because of /readyz) there would never be a next success.
    if (this.lastError !== undefined && Date.now() - this.lastError.at < UNREADY_AFTER_ERROR_MS) {
      return { ready: false, reason: `file sink: ${this.lastError.message}` };
    }
    return { ready: true };
  }

  async close(deadlineMs: number): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    clearInterval(this.timer);
    const done = this.enqueue(async () => {
      for (const key of [...this.writers.keys()]) await this.closeWriter(key);
      await this.lock.release();
    });
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((resolve) => {
        timeout = setTimeout(() => {
          this.logger.warn("file sink close timed out; open files will be finalised on the next start", { deadlineMs });
          resolve();
        }, deadlineMs);
        timeout.unref();
      }),
    ]);
    clearTimeout(timeout);
  }

  /** Start-up could not finish for want of disk space: refuse writes with `reason` until started(). */
  deferStart(reason: string): void {
    this.startPending = reason;
  }

  /** The DATA_DIR lock, released on close (also while start-up is still waiting). */
  holdLock(lock: { release(): Promise<void> }): void {
    this.lock = lock;
  }

  started(): void {
    this.startPending = undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Takes everything queued so far as one batch; repeats while writes keep arriving. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.commit(batch.flatMap((p) => p.lines));
        this.lastError = undefined;
        for (const p of batch) p.resolve();
      } catch (err) {
        const message = (err as Error).message;
        this.lastError = { message, at: Date.now() };
        this.m.errors.inc();
        this.logger.error("file sink could not make a batch durable", { error: message });
        const e = new SinkUnavailableError(`file sink cannot write: ${message}`, { cause: err });
        for (const p of batch) p.reject(e);
      }
    }
    this.draining = false;
  }

  private async commit(serialised: SerialisedLine[]): Promise<void> {
    const byPartition = new Map<string, { lines: string[]; counts: Map<string, number> }>();
    for (const { partition, entity, line } of serialised) {
      let group = byPartition.get(partition);
      if (!group) byPartition.set(partition, (group = { lines: [], counts: new Map() }));
      group.lines.push(line);
      group.counts.set(entity, (group.counts.get(entity) ?? 0) + 1);
    }
    // Open (or rotate) every file first, so a failure here leaves no batch data half-appended.
    const now = Date.now();
    const touched: { key: string; writer: GzipFileWriter; lines: string[] }[] = [];
    for (const [key, group] of byPartition) {
      let writer = this.writers.get(key);
      if (
        writer &&
        (writer.bytesOnDisk >= this.settings.rotateBytes || now - writer.openedAt >= this.settings.rotateSeconds * 1000)
      ) {
        await this.closeWriter(key);
        writer = undefined;
      }
      touched.push({ key, writer: writer ?? (await this.openWriter(key)), lines: group.lines });
    }
    for (const t of touched) t.writer.append(Buffer.from(t.lines.join(""), "utf8"), t.lines.length);
    const results = await Promise.allSettled(touched.map((t) => t.writer.sync()));
    let failure: unknown;
    for (const [i, r] of results.entries()) {
      const { key, writer } = touched[i]!;
      if (r.status === "fulfilled") {
        this.m.bytes.inc(r.value);
      } else {
        failure ??= r.reason;
        // The compressor state no longer matches the disk: drop this file; recovery keeps what was synced.
        this.writers.delete(key);
        await writer.abandon();
        await recoverQuietly(writer.openPath, this.logger);
      }
    }
    if (failure !== undefined) throw failure;
    this.m.batches.inc();
    for (const group of byPartition.values()) for (const [entity, n] of group.counts) this.m.records.inc({ entity }, n);
  }

  private async openWriter(key: string): Promise<GzipFileWriter> {
    const dir = join(this.settings.dataDir, key);
    await mkdirDurable(dir);
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    const name = `part-${stamp}-${process.pid}-${this.runId}-${String(++this.seq).padStart(6, "0")}.json.gz`;
    const writer = await GzipFileWriter.create(join(dir, name));
    this.writers.set(key, writer);
    return writer;
  }

  private async closeWriter(key: string): Promise<void> {
    const writer = this.writers.get(key);
    if (!writer) return;
    this.writers.delete(key);
    try {
      this.m.bytes.inc(await writer.finish());
      this.m.files.inc();
      this.logger.debug("file closed", { path: writer.finalPath, records: writer.records, bytes: writer.bytesOnDisk });
    } catch (err) {
      // Its records were synced before they were acknowledged; recovery on the next start finalises the file.
      this.logger.error("could not close file; it will be finalised on the next start", {
        path: writer.openPath,
        error: (err as Error).message,
      });
      await writer.abandon();
      await recoverQuietly(writer.openPath, this.logger);
    }
  }

  private rotateAged(): Promise<void> {
    const maxAgeMs = this.settings.rotateSeconds * 1000;
    const now = Date.now();
    const aged = [...this.writers.entries()].filter(([, w]) => now - w.openedAt >= maxAgeMs).map(([k]) => k);
    if (aged.length === 0 || this.closed) return Promise.resolve();
    return this.enqueue(async () => {
      for (const key of aged) {
        const w = this.writers.get(key);
        if (w && Date.now() - w.openedAt >= maxAgeMs) await this.closeWriter(key);
      }
    });
  }

  get openFileCount(): number {
    return this.writers.size;
  }
}

async function recoverQuietly(openPath: string, logger: Logger): Promise<void> {
  try {
    await recoverOpenFile(openPath);
  } catch (err) {
    logger.warn("could not finalise an abandoned file yet; it will be finalised on the next start", {
      error: (err as Error).message,
    });
  }
}
