import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { fsyncDir } from "../../common/durable-fs.js";
import type { Logger } from "../../log.js";
import { type DirLockOptions, lockDirectory } from "../dir-lock.js";
import { SinkUnavailableError } from "../sink.js";
import { ackLogPath, appendAckEntries, readAckLog } from "./ack-log.js";
import {
  decodeHeader,
  encodeFrame,
  FRAME_HEADER_BYTES,
  frameChecksumOk,
  headerLooksValid,
  SEGMENT_MAGIC,
} from "./frame.js";
import { IntervalSet } from "./interval-set.js";
import { copyAside, findNextFrame, SET_ASIDE_RE } from "./resync.js";

/** One record in the spool: where its frame lives and, when read inline, its payload. */
export interface SpooledLine {
  segment: number;
  /** Frame start (header) and end offsets in the segment file. */
  start: number;
  end: number;
  appendedAtMs: number;
  payloadBytes: number;
  /** Absent for payloads above the reader's inline limit: fetch with readPayload() when needed. */
  payload?: Buffer;
}

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

interface Segment {
  seq: number;
  path: string;
  /** Bytes of valid data in the file (header + whole frames). */
  size: number;
  /** No more appends: the reader may read up to `size` and the file can go once fully acknowledged. */
  sealed: boolean;
  acked: IntervalSet;
  /** Acks not yet written to the ack log, as [start, end) pairs. */
  pendingAcks: number[];
  deleted: boolean;
}

interface PendingAppend {
  frames: Buffer[];
  bytes: number;
  records: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;
const READ_WINDOW = 1024 * 1024;
const SCAN_WINDOW = 4 * 1024 * 1024;
const GROUP_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A write-ahead spool: append-only segment files of CRC-framed records, group-commit fsync, per-segment ack logs.
 * `append` resolves once its records are on disk (fdatasync). The reader walks the segments in order from disk, in
 * bounded windows, skipping frames acknowledged before a restart. A segment file is removed only when every frame in it
 * is acknowledged. Acks are written lazily (losing one re-sends a record: a duplicate, never a loss).
 */
export class Spool {
  private segments: Segment[] = [];
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private nextSeq = 1;
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private committing: Promise<void> | undefined;
  /** Set and cleared synchronously with the queue check, so an append never lands in a queue nobody drains. */
  private commitRunning = false;
  private closed = false;
  private broken: { message: string; at: number } | undefined;
  /** One shared promise per wait generation, so idle waiters never pile up. */
  private dataSignal: { promise: Promise<void>; resolve: () => void } | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private maintenance: Promise<void> = Promise.resolve();
  private unackedRecords = 0;
  private unackedBytes = 0;
  // reader state
  private readSeg: Segment | undefined;
  private readPos = 0;
  private readFd: number | undefined;
  private readFdSeq = -1;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private peeked: SpooledLine | undefined;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private lock: { release(): Promise<void> } | undefined;
  /** Names of files in the spool directory holding bytes set aside as corrupt, until an operator moves them. */
  private readonly setAside = new Set<string>();
  /** Group commits (write + fdatasync) done so far: appends per commit shows the batching at work. */
  commits = 0;

  private constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.maxBytes / 8)));
    this.fsync = opts.fsync ?? true;
  }

  /** Opens (creating if needed) the spool directory, recovers torn tails and loads ack logs. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(opts);
    await mkdir(opts.dir, { recursive: true });
    spool.lock = await lockDirectory({ dir: opts.dir, lockFile: ".spool.lock", variable: "SPOOL_DIR" }, opts.lock);
    try {
      await spool.recover();
    } catch (err) {
      await spool.lock.release();
      throw err;
    }
    return spool;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /**
   * Why the last group commit failed (disk full, I/O error), until one succeeds again or for brokenForMs at most:
   * readiness uses it, and a task taken out of rotation gets no appends that could clear it. Each append still retries.
   */
  get brokenReason(): string | undefined {
    if (!this.broken || Date.now() - this.broken.at >= (this.opts.brokenForMs ?? 10_000)) return undefined;
    return this.broken.message;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const { dir, logger } = this.opts;
    await mkdir(dir, { recursive: true });
    const names = await readdir(dir);
    const seqs = names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const n of names) if (SET_ASIDE_RE.test(n)) this.setAside.add(n);
    // Ack logs whose segment is gone (crash between the two unlinks) are leftovers.
    for (const n of names) {
      const m = /^seg-(\d{12})\.acks$/.exec(n);
      if (m && !seqs.includes(Number(m[1]))) await rm(join(dir, n), { force: true });
    }
    for (const seq of seqs) {
      const seg = await this.recoverSegment(seq, seq === seqs[seqs.length - 1]);
      if (seg) this.segments.push(seg);
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
    this.readSeg = this.segments[0];
    this.readPos = SEGMENT_MAGIC.length;
    if (this.unackedRecords > 0) {
      logger.info("spool: replaying records not yet acknowledged by Firehose", {
        records: this.unackedRecords,
        bytes: this.unackedBytes,
        segments: this.segments.length,
      });
    }
    for (const seg of [...this.segments]) await this.deleteIfDone(seg);
  }

  /** Validates every frame of a segment, cuts off a torn tail, loads its acks. Undefined if the file is unusable. */
  private async recoverSegment(seq: number, isLast: boolean): Promise<Segment | undefined> {
    const { logger } = this.opts;
    const path = this.segmentPath(seq);
    const fh = await open(path, "r+");
    try {
      const { size: fileSize } = await fh.stat();
      const magic = Buffer.alloc(SEGMENT_MAGIC.length);
      const { bytesRead } = await fh.read(magic, 0, magic.length, 0);
      if (bytesRead < magic.length || !magic.equals(SEGMENT_MAGIC)) {
        if (fileSize <= SEGMENT_MAGIC.length) {
          // Created but nothing written before a crash: carries no records.
          await fh.close();
          await rm(path, { force: true });
          await rm(ackLogPath(path), { force: true });
          return undefined;
        }
        if ((await findNextFrame(fh, SEGMENT_MAGIC.length, fileSize)) !== undefined) {
          // Our frames behind a damaged header: keep the damaged header bytes aside, restore it, replay the frames.
          const keptIn = await this.setDamageAside(fh, path, 0, SEGMENT_MAGIC.length);
          await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
          await fh.sync();
          logger.error("spool: corruption in a segment header: restored it; the frames after it are replayed", {
            segment: basename(path),
            offset: 0,
            bytes: SEGMENT_MAGIC.length,
            keptIn,
          });
        } else {
          await fh.close();
          const aside = `${path}.foreign-${Date.now()}`;
          await rename(path, aside);
          this.setAside.add(basename(aside));
          logger.error("spool: segment file has no spool header; moved aside untouched", { path, movedTo: aside });
          return undefined;
        }
      }
      const acked = await readAckLog(ackLogPath(path));
      let pos = SEGMENT_MAGIC.length;
      // Scan in windows of SCAN_WINDOW bytes: one read per window, not per frame.
      let win = Buffer.alloc(0);
      let winStart = pos;
      const ensure = async (from: number, len: number): Promise<Buffer | undefined> => {
        if (from + len > fileSize) return undefined;
        if (from < winStart || from + len > winStart + win.length) {
          const want = Math.min(Math.max(len, SCAN_WINDOW), fileSize - from);
          win = Buffer.allocUnsafe(want);
          let got = 0;
          while (got < want) {
            const { bytesRead: n } = await fh.read(win, got, want - got, from + got);
            if (n === 0) break;
            got += n;
          }
          win = win.subarray(0, got);
          winStart = from;
          if (got < len) return undefined;
        }
        return win.subarray(from - winStart, from - winStart + len);
      };
      /** End of the frame at `at` if the whole frame verifies. */
      const verifiedEnd = async (at: number): Promise<number | undefined> => {
        const header = await ensure(at, FRAME_HEADER_BYTES);
        if (!header) return undefined;
        const h = decodeHeader(header, 0);
        const end = at + FRAME_HEADER_BYTES + h.payloadBytes;
        if (!headerLooksValid(h) || end > fileSize) return undefined;
        const frame = await ensure(at, FRAME_HEADER_BYTES + h.payloadBytes);
        return frame && frameChecksumOk(h, frame, frame.subarray(FRAME_HEADER_BYTES)) ? end : undefined;
      };
      const damaged: [number, number][] = [];
      let unreadableFrom: number | undefined;
      while (pos < fileSize) {
        // Ranges acknowledged before (including damage set aside by an earlier recovery) are not read again.
        const gap = acked.firstGap(pos);
        if (gap > pos) {
          pos = Math.min(gap, fileSize);
          continue;
        }
        const end = await verifiedEnd(pos);
        if (end !== undefined) {
          this.unackedRecords++;
          this.unackedBytes += end - pos;
          pos = end;
          continue;
        }
        // Resynchronise: the intact frames after a damaged one are still there; find the next one that verifies.
        const next = await findNextFrame(fh, pos + 1, fileSize);
        if (next === undefined) {
          unreadableFrom = pos;
          break;
        }
        damaged.push([pos, next]);
        pos = next;
      }
      win = Buffer.alloc(0);
      for (const [from, to] of damaged) {
        const keptIn = await this.setDamageAside(fh, path, from, to);
        acked.add(from, to);
        logger.error(
          "spool: corruption in a segment: bytes that verify as no frame were set aside; every intact frame after them is replayed",
          { segment: basename(path), offset: from, bytes: to - from, resumedAt: to, keptIn },
        );
      }
      // Recorded as acknowledged (fsynced) so the reader and later recoveries skip the damaged bytes.
      if (damaged.length > 0) {
        await appendAckEntries(ackLogPath(path), damaged.flat(), true).catch((err: unknown) => {
          // Only costs finding (and setting aside) the same damage again on the next start.
          logger.warn("spool: could not record the damaged ranges in the ack log", { error: (err as Error).message });
        });
      }
      if (unreadableFrom !== undefined) {
        pos = unreadableFrom;
        const tornBytes = fileSize - pos;
        const tail = Buffer.alloc(tornBytes);
        await fh.read(tail, 0, tornBytes, pos);
        if (tail.some((b) => b !== 0)) {
          if (isLast) {
            // The segment being written at the crash, damaged to its very end: an append that never completed, so
            // it was never acknowledged to anyone.
            const aside = `${path}.torn-${Date.now()}`;
            const out = await open(aside, "w");
            await out.write(tail);
            await out.sync();
            await out.close();
            logger.warn("spool: cut a torn tail (an append interrupted by a crash); no acknowledged record is in it", {
              segment: basename(path),
              offset: pos,
              bytes: tornBytes,
              keptIn: aside,
            });
          } else {
            // An older, sealed segment does not tear: this is disk corruption, and the bytes may hold acked records.
            const keptIn = await this.setDamageAside(fh, path, pos, fileSize);
            logger.error(
              "spool: corruption at the end of a sealed segment: the unreadable bytes were set aside for manual recovery",
              { segment: basename(path), offset: pos, bytes: tornBytes, keptIn },
            );
          }
        } else {
          logger.warn("spool: cut a zero-filled tail left by a crash", {
            segment: basename(path),
            offset: pos,
            bytes: tornBytes,
          });
        }
        await fh.truncate(pos);
        await fh.sync();
      }
      return { seq, path, size: pos, sealed: true, acked, pendingAcks: [], deleted: false };
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Copies damaged bytes to `<segment>.corrupt-<offset>-<ms>` beside the segment; reported until an operator moves it. */
  private async setDamageAside(fh: FileHandle, segmentPath: string, from: number, to: number): Promise<string> {
    const name = `${basename(segmentPath)}.corrupt-${from}-${Date.now()}`;
    await copyAside(fh, from, to, join(this.opts.dir, name));
    this.setAside.add(name);
    return name;
  }

  /**
   * Files of bytes set aside as corrupt that are still in the spool directory. An operator acknowledges one by
   * moving it out of the directory or renaming it (e.g. appending `.reviewed`); until then metrics and /readyz say so.
   */
  corruption(): { files: string[] } {
    for (const name of this.setAside) if (!existsSync(join(this.opts.dir, name))) this.setAside.delete(name);
    return { files: [...this.setAside].sort() };
  }

  private segmentPath(seq: number): string {
    return join(this.opts.dir, `seg-${String(seq).padStart(12, "0")}.log`);
  }

  // ---------------------------------------------------------------- appends

  /**
   * Appends records; resolves once they are fsynced. Rejects with SinkUnavailableError when the spool is closed, full
   * (SPOOL_MAX_BYTES) or the disk fails. `force` skips the size bound (dead letters that replace a record).
   */
  append(payloads: readonly Buffer[], opts: { force?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("the spool is closed (shutting down)"));
    if (payloads.length === 0) return Promise.resolve();
    const now = Date.now();
    const frames = payloads.map((p) => encodeFrame(p, now));
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (!opts.force && bytes > this.opts.maxBytes) {
      return Promise.reject(
        new SinkUnavailableError(
          `records of ${bytes} bytes can never fit SPOOL_MAX_BYTES=${this.opts.maxBytes}: raise SPOOL_MAX_BYTES`,
        ),
      );
    }
    if (!opts.force && this.diskBytes() + this.queuedBytes + bytes > this.opts.maxBytes) {
      return Promise.reject(
        new SinkUnavailableError(
          `the spool is full (${this.diskBytes() + this.queuedBytes} of SPOOL_MAX_BYTES=${this.opts.maxBytes} bytes): Firehose is not keeping up or is unreachable`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, bytes, records: frames.length, resolve, reject });
      this.queuedBytes += bytes;
      if (!this.commitRunning) {
        this.commitRunning = true;
        this.committing = this.commitLoop();
      }
    });
  }

  /** Group commit: everything queued while the previous fsync ran is written and fsynced together. */
  private async commitLoop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.commitRunning = false;
        return;
      }
      // Everything queued, up to GROUP_MAX_BYTES per write so one commit never copies an unbounded buffer.
      let take = 0;
      for (
        let acc = 0;
        take < this.queue.length && (take === 0 || acc + this.queue[take]!.bytes <= GROUP_MAX_BYTES);
        take++
      ) {
        acc += this.queue[take]!.bytes;
      }
      const group = this.queue.splice(0, take);
      const bytes = group.reduce((n, g) => n + g.bytes, 0);
      const records = group.reduce((n, g) => n + g.records, 0);
      try {
        const { seg, fh } = await this.writableSegment();
        const data = Buffer.concat(
          group.flatMap((g) => g.frames),
          bytes,
        );
        let written = 0;
        try {
          while (written < data.length) {
            const r = await fh.write(data, written, data.length - written, seg.size + written);
            written += r.bytesWritten;
          }
          if (this.fsync) await fh.datasync();
          this.commits++;
        } catch (err) {
          await this.abandonActive(seg, fh, err);
          throw err;
        }
        seg.size += bytes;
        this.unackedRecords += records;
        this.unackedBytes += bytes;
        this.queuedBytes -= bytes;
        this.broken = undefined;
        for (const g of group) g.resolve();
        this.wakeReaders();
      } catch (err) {
        this.queuedBytes -= bytes;
        this.broken = { message: (err as Error).message, at: Date.now() };
        const e = new SinkUnavailableError(`could not write the spool in ${this.opts.dir}: ${(err as Error).message}`, {
          cause: err,
        });
        for (const g of group) g.reject(e);
      }
    }
  }

  /** A failed write or fsync leaves the file in an unknown state: cut it back to the last good size and seal it. */
  private async abandonActive(seg: Segment, fh: FileHandle, err: unknown): Promise<void> {
    this.opts.logger.error("spool: write or fsync failed; sealing the segment at its last durable size", {
      path: seg.path,
      error: (err as Error).message,
    });
    try {
      await fh.truncate(seg.size);
    } catch {
      /* recovery on next start cuts anything invalid */
    }
    await fh.close().catch(() => undefined);
    seg.sealed = true;
    this.active = undefined;
    this.wakeReaders();
  }

  private async writableSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    if (this.active && this.active.seg.size >= this.segmentBytes) {
      const { seg, fh } = this.active;
      this.active = undefined;
      // Sealed whatever close() says: its frames are already fsynced, and an unsealed segment would stop the reader.
      seg.sealed = true;
      await fh.close().catch((err: unknown) => {
        this.opts.logger.warn("spool: closing a full segment failed; its data was already fsynced", {
          path: seg.path,
          error: (err as Error).message,
        });
      });
      this.wakeReaders();
      this.scheduleMaintenance(() => this.deleteIfDone(seg));
    }
    if (this.active) return this.active;
    const seq = this.nextSeq++;
    const path = this.segmentPath(seq);
    const fh = await open(path, "wx");
    try {
      await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      if (this.fsync) {
        await fh.sync();
        await fsyncDir(this.opts.dir);
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(path, { force: true }).catch(() => undefined);
      throw err;
    }
    const seg: Segment = {
      seq,
      path,
      size: SEGMENT_MAGIC.length,
      sealed: false,
      acked: new IntervalSet(),
      pendingAcks: [],
      deleted: false,
    };
    this.segments.push(seg);
    if (!this.readSeg) {
      this.readSeg = seg;
      this.readPos = SEGMENT_MAGIC.length;
    }
    this.active = { seg, fh };
    return this.active;
  }

  // ---------------------------------------------------------------- reading

  /** Bytes appended and fsynced that the reader has not consumed yet. */
  hasUnread(): boolean {
    if (this.peeked) return true;
    const seg = this.readSeg;
    if (!seg) return false;
    if (this.readPos < seg.size) return true;
    const idx = this.segments.indexOf(seg);
    for (let i = idx + 1; i < this.segments.length; i++) if (this.segments[i]!.size > SEGMENT_MAGIC.length) return true;
    return false;
  }

  /** Resolves when new records were committed (or the spool closed). */
  waitForData(): Promise<void> {
    if (!this.dataSignal) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.dataSignal = { promise, resolve };
    }
    return this.dataSignal.promise;
  }

  private wakeReaders(): void {
    const signal = this.dataSignal;
    this.dataSignal = undefined;
    signal?.resolve();
  }

  /**
   * The next unacknowledged record at the read cursor, without consuming it. Payloads larger than `inlineMax` are not
   * loaded (the caller routes them elsewhere and fetches them with readPayload).
   */
  async peek(inlineMax: number): Promise<SpooledLine | undefined> {
    if (this.peeked) return this.peeked;
    for (;;) {
      const seg = this.readSeg;
      if (!seg) return undefined;
      if (seg.deleted || this.readPos >= seg.size) {
        if (!seg.sealed && !seg.deleted) return undefined;
        const idx = this.segments.indexOf(seg);
        const next = idx >= 0 ? this.segments[idx + 1] : this.segments.find((s) => s.seq > seg.seq);
        if (!next) return undefined;
        this.readSeg = next;
        this.readPos = SEGMENT_MAGIC.length;
        this.window = Buffer.alloc(0);
        continue;
      }
      const gap = seg.acked.firstGap(this.readPos);
      if (gap > this.readPos) {
        this.readPos = Math.min(gap, seg.size);
        continue;
      }
      const header = this.readBytes(seg, this.readPos, FRAME_HEADER_BYTES);
      const h = decodeHeader(header, 0);
      const end = this.readPos + FRAME_HEADER_BYTES + h.payloadBytes;
      if (!headerLooksValid(h) || end > seg.size) {
        await this.quarantineRest(seg, this.readPos, "invalid frame header");
        continue;
      }
      if (seg.acked.covers(this.readPos, end)) {
        this.readPos = end;
        continue;
      }
      const line: SpooledLine = {
        segment: seg.seq,
        start: this.readPos,
        end,
        appendedAtMs: h.appendedAtMs,
        payloadBytes: h.payloadBytes,
      };
      if (h.payloadBytes <= inlineMax) {
        const payload = Buffer.from(this.readBytes(seg, this.readPos + FRAME_HEADER_BYTES, h.payloadBytes));
        if (!frameChecksumOk(h, header, payload)) {
          await this.quarantineRest(seg, this.readPos, "checksum mismatch");
          continue;
        }
        line.payload = payload;
      }
      this.peeked = line;
      return line;
    }
  }

  /** Moves the read cursor past the peeked record (which the caller now owns until it acks it). */
  consume(): void {
    if (!this.peeked) return;
    this.readPos = this.peeked.end;
    this.peeked = undefined;
  }

  /** Reads one record's payload from disk (for records not read inline), verifying its checksum. */
  async readPayload(line: SpooledLine): Promise<Buffer> {
    const seg = this.segments.find((s) => s.seq === line.segment && !s.deleted);
    if (!seg) throw new Error(`spool segment ${line.segment} is gone`);
    const fh = await open(seg.path, "r");
    try {
      const frame = Buffer.allocUnsafe(line.end - line.start);
      await fh.read(frame, 0, frame.length, line.start);
      const h = decodeHeader(frame, 0);
      const payload = frame.subarray(FRAME_HEADER_BYTES);
      if (!frameChecksumOk(h, frame, payload)) throw new Error(`spool frame at ${seg.path}:${line.start} is corrupt`);
      return payload;
    } finally {
      await fh.close();
    }
  }

  /** Synchronous positioned read through a bounded window (the reader never holds more than one window). */
  private readBytes(seg: Segment, pos: number, len: number): Buffer {
    const inWindow = pos >= this.windowStart && pos + len <= this.windowStart + this.window.length;
    if (!inWindow || this.readFdSeq !== seg.seq) {
      if (this.readFdSeq !== seg.seq) {
        if (this.readFd !== undefined) closeSync(this.readFd);
        this.readFd = openSync(seg.path, "r");
        this.readFdSeq = seg.seq;
      }
      const want = Math.min(Math.max(len, READ_WINDOW), Math.max(len, seg.size - pos));
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = readSync(this.readFd!, buf, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      this.window = buf.subarray(0, got);
      this.windowStart = pos;
      if (got < len) throw new Error(`spool segment ${seg.path} is shorter than expected`);
    }
    return this.window.subarray(pos - this.windowStart, pos - this.windowStart + len);
  }

  /** Disk corruption found while reading: set the damaged bytes aside, resume at the next frame that verifies. */
  private async quarantineRest(seg: Segment, from: number, why: string): Promise<void> {
    const fh = await open(seg.path, "r");
    let to: number;
    let keptIn: string;
    try {
      to = (await findNextFrame(fh, from + 1, seg.size)) ?? seg.size;
      keptIn = await this.setDamageAside(fh, seg.path, from, to);
    } finally {
      await fh.close();
    }
    this.opts.logger.error(
      "spool: corruption in a segment: bytes that verify as no frame were set aside; reading resumes at the next intact frame",
      { segment: basename(seg.path), offset: from, bytes: to - from, resumedAt: to, why, keptIn },
    );
    // How many records the damaged bytes held is unknown: count one.
    this.unackedRecords = Math.max(0, this.unackedRecords - 1);
    this.unackedBytes = Math.max(0, this.unackedBytes - (to - from));
    seg.acked.add(from, to);
    seg.pendingAcks.push(from, to);
    this.readPos = to;
    this.window = Buffer.alloc(0);
    this.scheduleAckFlush();
  }

  // ---------------------------------------------------------------- acknowledgements

  /** Records now safely elsewhere (Firehose RecordId, dead-letter object). Idempotent per record. */
  ack(lines: readonly SpooledLine[]): void {
    for (const line of lines) {
      const seg = this.segments.find((s) => s.seq === line.segment);
      if (!seg || seg.deleted) continue;
      if (!seg.acked.add(line.start, line.end)) continue;
      seg.pendingAcks.push(line.start, line.end);
      this.unackedRecords--;
      this.unackedBytes -= line.end - line.start;
    }
    this.scheduleAckFlush();
  }

  private scheduleAckFlush(): void {
    if (this.ackTimer || this.closed) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.scheduleMaintenance(() => this.flushAcks(false));
    }, this.opts.ackFlushMs ?? 200);
    this.ackTimer.unref();
  }

  /** Serialises ack-log writes and segment deletion so a deleted segment's ack log is never recreated. */
  private scheduleMaintenance(task: () => Promise<void>): Promise<void> {
    this.maintenance = this.maintenance.then(task).catch((err) => {
      this.opts.logger.warn("spool: maintenance failed (will retry)", { error: (err as Error).message });
    });
    return this.maintenance;
  }

  private async flushAcks(sync: boolean): Promise<void> {
    for (const seg of [...this.segments]) {
      if (seg.deleted || seg.pendingAcks.length === 0) continue;
      if (seg.sealed && seg.acked.covers(SEGMENT_MAGIC.length, seg.size)) {
        await this.deleteIfDone(seg);
        continue;
      }
      const entries = seg.pendingAcks.splice(0);
      try {
        await appendAckEntries(ackLogPath(seg.path), entries, sync);
      } catch (err) {
        seg.pendingAcks.unshift(...entries);
        throw err;
      }
    }
  }

  private async deleteIfDone(seg: Segment): Promise<void> {
    if (seg.deleted || !seg.sealed) return;
    if (seg.size > SEGMENT_MAGIC.length && !seg.acked.covers(SEGMENT_MAGIC.length, seg.size)) return;
    seg.deleted = true;
    // Data file first: a crash in between leaves an orphan ack log, which recovery removes.
    await rm(seg.path, { force: true });
    await rm(ackLogPath(seg.path), { force: true });
    this.segments = this.segments.filter((s) => s !== seg);
    if (this.readFdSeq === seg.seq) {
      if (this.readFd !== undefined) closeSync(this.readFd);
      this.readFd = undefined;
      this.readFdSeq = -1;
    }
  }

  // ---------------------------------------------------------------- stats and lifecycle

  diskBytes(): number {
    let n = 0;
    for (const s of this.segments) if (!s.deleted) n += s.size;
    return n;
  }

  /** Append time of the oldest record not yet acknowledged (the lowest unacked offset of the oldest live segment). */
  oldestUnackedMs(): number | undefined {
    for (const seg of this.segments) {
      if (seg.deleted) continue;
      const gap = seg.acked.firstGap(SEGMENT_MAGIC.length);
      if (gap >= seg.size) continue;
      try {
        const fd = openSync(seg.path, "r");
        try {
          const header = Buffer.alloc(FRAME_HEADER_BYTES);
          if (readSync(fd, header, 0, FRAME_HEADER_BYTES, gap) < FRAME_HEADER_BYTES) return undefined;
          const h = decodeHeader(header, 0);
          return headerLooksValid(h) ? h.appendedAtMs : undefined;
        } finally {
          closeSync(fd);
        }
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  stats(): SpoolStats {
    return {
      records: this.unackedRecords,
      bytes: this.unackedBytes,
      diskBytes: this.diskBytes(),
      segments: this.segments.filter((s) => !s.deleted).length,
      oldestAppendedAtMs: this.unackedRecords > 0 ? this.oldestUnackedMs() : undefined,
    };
  }

  /** Stops appends, waits for the running group commit, writes and fsyncs pending acks, releases files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const rejectQueued = this.queue.splice(0);
    for (const q of rejectQueued) {
      this.queuedBytes -= q.bytes;
      q.reject(new SinkUnavailableError("the spool is closed (shutting down)"));
    }
    await this.committing;
    if (this.active) {
      const { seg, fh } = this.active;
      this.active = undefined;
      await fh.close().catch(() => undefined);
      seg.sealed = true;
    }
    await this.scheduleMaintenance(() => this.flushAcks(true));
    for (const seg of [...this.segments]) await this.scheduleMaintenance(() => this.deleteIfDone(seg));
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
    await this.lock?.release();
    this.wakeReaders();
  }
}

/** For tests and tools: the spool's segment files currently on disk. */
export async function listSegmentFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => SEGMENT_RE.test(n)).sort();
}
