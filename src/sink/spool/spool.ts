import { mkdir } from "node:fs/promises";
import type { Logger } from "../../log.js";
import { type DirLockOptions, lockDirectory } from "../dir-lock.js";
import { Acks } from "./acks.js";
import { GroupCommit } from "./group-commit.js";
import { type SpooledLine, SpoolReader } from "./reader.js";
import { recoverSegments } from "./recovery.js";
import { SegmentList } from "./segments.js";
import { SetAsideFiles } from "./set-aside.js";

export type { SpooledLine } from "./reader.js";
export { listSegmentFiles } from "./segments.js";

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  logger: Logger;
  /** Roll to a new segment file once the active one reaches this size. Default: maxBytes/8 within [64 KiB, 16 MiB]. */
  segmentBytes?: number;
  /** How long acknowledgements may sit in memory before being appended to the ack log. */
  ackFlushMs?: number;
  /** Fsync each group commit (always true in production; the bench measures its cost). */
  fsync?: boolean;
  /** Single-writer lock on the directory (heartbeat file); timings for tests. */
  lock?: DirLockOptions;
  /** How long a failed group commit is reported by brokenReason when no append has succeeded since. Default 10 s. */
  brokenForMs?: number;
}

export interface SpoolStats {
  /** Records appended and not yet acknowledged. */
  records: number;
  /** Payload+frame bytes of those records. */
  bytes: number;
  /** Bytes of segment files on disk (what SPOOL_MAX_BYTES bounds). */
  diskBytes: number;
  segments: number;
  /** Append time of the oldest unacknowledged record, if any. */
  oldestAppendedAtMs: number | undefined;
}

/**
 * A write-ahead spool: append-only segment files of CRC-framed records, group-commit fsync, per-segment ack logs.
 * `append` resolves once its records are on disk (fdatasync). The reader walks the segments in order from disk, in
 * bounded windows, skipping frames acknowledged before a restart. A segment file is removed only when every frame in it
 * is acknowledged. Acks are written lazily (losing one re-sends a record: a duplicate, never a loss).
 *
 * The parts: segments.ts (the files), group-commit.ts (appends), reader.ts (the read cursor), acks.ts (ack logs and
 * removal), recovery.ts (torn tails and damage at open), resync.ts (finding the next intact frame).
 */
export class Spool {
  private readonly segments: SegmentList;
  private readonly setAside: SetAsideFiles;
  private readonly acks: Acks;
  private readonly reader: SpoolReader;
  private readonly writer: GroupCommit;
  private closed = false;
  private lock: { release(): Promise<void> } | undefined;

  private constructor(private readonly opts: SpoolOptions) {
    this.segments = new SegmentList(opts.dir);
    this.setAside = new SetAsideFiles(opts.dir);
    this.acks = new Acks(this.segments, {
      logger: opts.logger,
      ackFlushMs: opts.ackFlushMs,
      onDeleted: (seg) => this.reader.segmentDeleted(seg),
    });
    this.reader = new SpoolReader(this.segments, this.acks, this.setAside, opts.logger);
    this.writer = new GroupCommit(this.segments, {
      logger: opts.logger,
      maxBytes: opts.maxBytes,
      segmentBytes: opts.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.maxBytes / 8))),
      fsync: opts.fsync ?? true,
      onReadable: () => this.reader.wake(),
      onCreated: (seg) => this.reader.segmentCreated(seg),
      onSealed: (seg) => void this.acks.schedule(() => this.acks.deleteIfDone(seg)),
    });
  }

  /** Opens (creating if needed) the spool directory, recovers torn tails and loads ack logs. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(opts);
    await mkdir(opts.dir, { recursive: true });
    spool.lock = await lockDirectory({ dir: opts.dir, lockFile: ".spool.lock", variable: "SPOOL_DIR" }, opts.lock);
    try {
      await recoverSegments(spool.segments, spool.setAside, opts.logger);
      spool.reader.rewind();
      for (const seg of [...spool.segments.items]) await spool.acks.deleteIfDone(seg);
    } catch (err) {
      await spool.lock.release();
      throw err;
    }
    return spool;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Group commits (write + fdatasync) done so far: appends per commit shows the batching at work. */
  get commits(): number {
    return this.writer.commits;
  }

  /**
   * Why the last group commit failed (disk full, I/O error), until one succeeds again or for brokenForMs at most:
   * readiness uses it, and a task taken out of rotation gets no appends that could clear it. Each append still retries.
   */
  get brokenReason(): string | undefined {
    const broken = this.writer.broken;
    if (!broken || Date.now() - broken.at >= (this.opts.brokenForMs ?? 10_000)) return undefined;
    return broken.message;
  }

  /**
   * Files of bytes set aside as corrupt that are still in the spool directory. An operator acknowledges one by
   * moving it out of the directory or renaming it (e.g. appending `.reviewed`); until then metrics and /readyz say so.
   */
  corruption(): { files: string[] } {
    return { files: this.setAside.list() };
  }

  /**
   * Appends records; resolves once they are fsynced. Rejects with SinkUnavailableError when the spool is closed, full
   * (SPOOL_MAX_BYTES) or the disk fails. `force` skips the size bound (dead letters that replace a record).
   */
  append(payloads: readonly Buffer[], opts: { force?: boolean } = {}): Promise<void> {
    return this.writer.append(payloads, opts.force ?? false);
  }

  /** Bytes appended and fsynced that the reader has not consumed yet. */
  hasUnread(): boolean {
    return this.reader.hasUnread();
  }

  /** Resolves when new records were committed (or the spool closed). */
  waitForData(): Promise<void> {
    return this.reader.waitForData();
  }

  /**
   * The next unacknowledged record at the read cursor, without consuming it. Payloads larger than `inlineMax` are not
   * loaded (the caller routes them elsewhere and fetches them with readPayload).
   */
  peek(inlineMax: number): Promise<SpooledLine | undefined> {
    return this.reader.peek(inlineMax);
  }

  /** Moves the read cursor past the peeked record (which the caller now owns until it acks it). */
  consume(): void {
    this.reader.consume();
  }

  /** Reads one record's payload from disk (for records not read inline), verifying its checksum. */
  readPayload(line: SpooledLine): Promise<Buffer> {
    return this.reader.readPayload(line);
  }

  /** Records now safely elsewhere (Firehose RecordId, dead-letter object). Idempotent per record. */
  ack(lines: readonly SpooledLine[]): void {
    this.acks.ack(lines);
  }

  diskBytes(): number {
    return this.segments.diskBytes();
  }

  /** Append time of the oldest record not yet acknowledged (the lowest unacked offset of the oldest live segment). */
  oldestUnackedMs(): number | undefined {
    return this.reader.oldestUnackedMs();
  }

  stats(): SpoolStats {
    const { unackedRecords, unackedBytes } = this.segments;
    return {
      records: unackedRecords,
      bytes: unackedBytes,
      diskBytes: this.segments.diskBytes(),
      segments: this.segments.items.filter((s) => !s.deleted).length,
      oldestAppendedAtMs: unackedRecords > 0 ? this.reader.oldestUnackedMs() : undefined,
    };
  }

  /** Stops appends, waits for the running group commit, writes and fsyncs pending acks, releases files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.acks.stopTimer();
    await this.writer.close();
    await this.acks.closeFlush();
    this.reader.close();
    await this.lock?.release();
    this.reader.wake();
  }
}
