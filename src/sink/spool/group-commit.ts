import type { FileHandle } from "node:fs/promises";
import type { Logger } from "../../log.js";
import { SinkUnavailableError } from "../sink.js";
import { encodeFrame } from "./frame.js";
import type { Segment, SegmentList } from "./segments.js";

interface PendingAppend {
  frames: Buffer[];
  bytes: number;
  records: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const GROUP_MAX_BYTES = 8 * 1024 * 1024;

export interface GroupCommitOptions {
  logger: Logger;
  maxBytes: number;
  /** Roll to a new segment file once the active one reaches this size. */
  segmentBytes: number;
  fsync: boolean;
  /** Records were committed, or a segment was sealed: the reader may have more to read. */
  onReadable: () => void;
  /** A new segment file exists (the reader starts there when it had none). */
  onCreated: (seg: Segment) => void;
  /** A full segment was sealed: it may go once fully acknowledged. */
  onSealed: (seg: Segment) => void;
}

/**
 * Appends with group commit: everything queued while the previous write+fdatasync ran is written and synced together,
 * into the active segment file, rolled over to a new one at `segmentBytes`.
 */
export class GroupCommit {
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private committing: Promise<void> | undefined;
  /** Set and cleared synchronously with the queue check, so an append never lands in a queue nobody drains. */
  private commitRunning = false;
  private closed = false;
  /** Why the last group commit failed, until one succeeds. */
  broken: { message: string; at: number } | undefined;
  /** Group commits (write + fdatasync) done so far: appends per commit shows the batching at work. */
  commits = 0;

  constructor(
    private readonly segments: SegmentList,
    private readonly opts: GroupCommitOptions,
  ) {}

  /** Resolves once the records are fsynced; rejects with SinkUnavailableError when closed, full or the disk fails. */
  append(payloads: readonly Buffer[], force: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("the spool is closed (shutting down)"));
    if (payloads.length === 0) return Promise.resolve();
    const now = Date.now();
    const frames = payloads.map((p) => encodeFrame(p, now));
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    const { maxBytes } = this.opts;
    if (!force && bytes > maxBytes) {
      return Promise.reject(
        new SinkUnavailableError(
          `records of ${bytes} bytes can never fit SPOOL_MAX_BYTES=${maxBytes}: raise SPOOL_MAX_BYTES`,
        ),
      );
    }
    if (!force && this.segments.diskBytes() + this.queuedBytes + bytes > maxBytes) {
      return Promise.reject(
        new SinkUnavailableError(
          `the spool is full (${this.segments.diskBytes() + this.queuedBytes} of SPOOL_MAX_BYTES=${maxBytes} bytes): Firehose is not keeping up or is unreachable`,
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

  /** Rejects queued appends, waits for the running commit and seals the active segment. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) {
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
  }

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
          if (this.opts.fsync) await fh.datasync();
          this.commits++;
        } catch (err) {
          await this.abandonActive(seg, fh, err);
          throw err;
        }
        seg.size += bytes;
        this.segments.unackedRecords += records;
        this.segments.unackedBytes += bytes;
        this.queuedBytes -= bytes;
        this.broken = undefined;
        for (const g of group) g.resolve();
        this.opts.onReadable();
      } catch (err) {
        this.queuedBytes -= bytes;
        this.broken = { message: (err as Error).message, at: Date.now() };
        const e = new SinkUnavailableError(
          `could not write the spool in ${this.segments.dir}: ${(err as Error).message}`,
          { cause: err },
        );
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
    this.opts.onReadable();
  }

  /** The active segment, rolled over to a new file once it reached segmentBytes. */
  private async writableSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    if (this.active && this.active.seg.size >= this.opts.segmentBytes) {
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
      this.opts.onReadable();
      this.opts.onSealed(seg);
    }
    if (this.active) return this.active;
    const { seg, fh } = await this.segments.create(this.opts.fsync);
    this.opts.onCreated(seg);
    this.active = { seg, fh };
    return this.active;
  }
}
