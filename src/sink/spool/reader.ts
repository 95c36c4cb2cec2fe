import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import type { Logger } from "../../log.js";
import type { Acks } from "./acks.js";
import { decodeHeader, FRAME_HEADER_BYTES, frameChecksumOk, headerLooksValid, SEGMENT_MAGIC } from "./frame.js";
import { ReadWindow } from "./read-window.js";
import { findNextFrame } from "./resync.js";
import type { Segment, SegmentList } from "./segments.js";
import type { SetAsideFiles } from "./set-aside.js";

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

const READ_WINDOW = 1024 * 1024;

/**
 * The read cursor: walks the segments in order from disk through one bounded window, skipping acknowledged ranges;
 * bytes that verify as no frame are set aside and reading resumes at the next intact frame.
 */
export class SpoolReader {
  private readSeg: Segment | undefined;
  private readPos = 0;
  private readFd: number | undefined;
  private readFdSeq = -1;
  private readonly window = new ReadWindow(READ_WINDOW);
  private peeked: SpooledLine | undefined;
  /** One shared promise per wait generation, so idle waiters never pile up. */
  private dataSignal: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    private readonly segments: SegmentList,
    private readonly acks: Acks,
    private readonly setAside: SetAsideFiles,
    private readonly logger: Logger,
  ) {}

  /** Starts at the first segment (after recovery). */
  rewind(): void {
    this.readSeg = this.segments.items[0];
    this.readPos = SEGMENT_MAGIC.length;
  }

  /** A new segment file: where reading starts when there was none to read. */
  segmentCreated(seg: Segment): void {
    if (!this.readSeg) {
      this.readSeg = seg;
      this.readPos = SEGMENT_MAGIC.length;
    }
  }

  /** Bytes appended and fsynced that the reader has not consumed yet. */
  hasUnread(): boolean {
    if (this.peeked) return true;
    const seg = this.readSeg;
    if (!seg) return false;
    if (this.readPos < seg.size) return true;
    const items = this.segments.items;
    const idx = items.indexOf(seg);
    for (let i = idx + 1; i < items.length; i++) if (items[i]!.size > SEGMENT_MAGIC.length) return true;
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

  wake(): void {
    const signal = this.dataSignal;
    this.dataSignal = undefined;
    signal?.resolve();
  }

  /** The next unacknowledged record at the cursor, without consuming it; payloads above `inlineMax` are not loaded. */
  async peek(inlineMax: number): Promise<SpooledLine | undefined> {
    if (this.peeked) return this.peeked;
    for (;;) {
      const seg = this.readSeg;
      if (!seg) return undefined;
      if (seg.deleted || this.readPos >= seg.size) {
        if (!seg.sealed && !seg.deleted) return undefined;
        const items = this.segments.items;
        const idx = items.indexOf(seg);
        const next = idx >= 0 ? items[idx + 1] : items.find((s) => s.seq > seg.seq);
        if (!next) return undefined;
        this.readSeg = next;
        this.readPos = SEGMENT_MAGIC.length;
        this.window.clear();
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

  /** Moves the cursor past the peeked record (which the caller now owns until it acks it). */
  consume(): void {
    if (!this.peeked) return;
    this.readPos = this.peeked.end;
    this.peeked = undefined;
  }

  /** Reads one record's payload from disk (for records not read inline), verifying its checksum. */
  async readPayload(line: SpooledLine): Promise<Buffer> {
    const seg = this.segments.items.find((s) => s.seq === line.segment && !s.deleted);
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

  /** Append time of the oldest record not yet acknowledged (the lowest unacked offset of the oldest live segment). */
  oldestUnackedMs(): number | undefined {
    for (const seg of this.segments.items) {
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

  /** A removed segment: close its file if the reader holds it open. */
  segmentDeleted(seg: Segment): void {
    if (this.readFdSeq === seg.seq) {
      if (this.readFd !== undefined) closeSync(this.readFd);
      this.readFd = undefined;
      this.readFdSeq = -1;
    }
  }

  close(): void {
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
  }

  /** Synchronous positioned read of the segment under the cursor (the hot path: no promise per frame). */
  private readBytes(seg: Segment, pos: number, len: number): Buffer {
    if (this.readFdSeq !== seg.seq) {
      if (this.readFd !== undefined) closeSync(this.readFd);
      this.readFd = openSync(seg.path, "r");
      this.readFdSeq = seg.seq;
      this.window.clear();
    }
    const bytes = this.window.read(this.readFd!, pos, len, seg.size);
    if (!bytes) throw new Error(`spool segment ${seg.path} is shorter than expected`);
    return bytes;
  }

  /** Disk corruption found while reading: set the damaged bytes aside, resume at the next frame that verifies. */
  private async quarantineRest(seg: Segment, from: number, why: string): Promise<void> {
    const fh = await open(seg.path, "r");
    let to: number;
    let keptIn: string;
    try {
      to = (await findNextFrame(fh, from + 1, seg.size)) ?? seg.size;
      keptIn = await this.setAside.keepDamage(fh, seg.path, from, to);
    } finally {
      await fh.close();
    }
    this.logger.error(
      "spool: corruption in a segment: bytes that verify as no frame were set aside; reading resumes at the next intact frame",
      { segment: basename(seg.path), offset: from, bytes: to - from, resumedAt: to, why, keptIn },
    );
    this.acks.markDamaged(seg, from, to);
    this.readPos = to;
    this.window.clear();
    this.acks.scheduleFlush();
  }
}
