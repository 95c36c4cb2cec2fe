import type { Logger } from "../../log.js";
import { ackLogPath, appendAckEntries } from "./ack-log.js";
import { SEGMENT_MAGIC } from "./frame.js";
import type { Segment, SegmentList } from "./segments.js";

/** Where a record's frame lives: the part of a spooled record acknowledgement needs. */
export interface FrameRef {
  segment: number;
  start: number;
  end: number;
}

/**
 * Acknowledgements: kept in memory per segment, appended to the ack logs lazily (a lost ack only re-sends a record),
 * and the removal of segment files once every frame in them is acknowledged. Ack-log writes and removals run one at a
 * time (maintenance) so a removed segment's ack log is never recreated.
 */
export class Acks {
  private timer: NodeJS.Timeout | undefined;
  private maintenance: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly segments: SegmentList,
    private readonly opts: { logger: Logger; ackFlushMs?: number; onDeleted: (seg: Segment) => void },
  ) {}

  /** Records now safely elsewhere. Idempotent per record. */
  ack(lines: readonly FrameRef[]): void {
    for (const line of lines) {
      const seg = this.segments.items.find((s) => s.seq === line.segment);
      if (!seg || seg.deleted) continue;
      if (!seg.acked.add(line.start, line.end)) continue;
      seg.pendingAcks.push(line.start, line.end);
      this.segments.unackedRecords--;
      this.segments.unackedBytes -= line.end - line.start;
    }
    this.scheduleFlush();
  }

  /** Damaged bytes set aside by the reader: recorded as acknowledged so nothing reads them again. */
  markDamaged(seg: Segment, from: number, to: number): void {
    // How many records the damaged bytes held is unknown: count one.
    this.segments.unackedRecords = Math.max(0, this.segments.unackedRecords - 1);
    this.segments.unackedBytes = Math.max(0, this.segments.unackedBytes - (to - from));
    seg.acked.add(from, to);
    seg.pendingAcks.push(from, to);
  }

  scheduleFlush(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule(() => this.flush(false));
    }, this.opts.ackFlushMs ?? 200);
    this.timer.unref();
  }

  /** Runs `task` after the maintenance already queued; a failure is logged (the next flush retries). */
  schedule(task: () => Promise<void>): Promise<void> {
    this.maintenance = this.maintenance.then(task).catch((err) => {
      this.opts.logger.warn("spool: maintenance failed (will retry)", { error: (err as Error).message });
    });
    return this.maintenance;
  }

  async deleteIfDone(seg: Segment): Promise<void> {
    if (await this.segments.deleteIfDone(seg)) this.opts.onDeleted(seg);
  }

  private async flush(sync: boolean): Promise<void> {
    for (const seg of [...this.segments.items]) {
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

  /** No more timed flushes (acks still land in memory). */
  stopTimer(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes and fsyncs every pending ack, then removes the segments fully acknowledged. */
  async closeFlush(): Promise<void> {
    await this.schedule(() => this.flush(true));
    for (const seg of [...this.segments.items]) await this.schedule(() => this.deleteIfDone(seg));
  }
}
