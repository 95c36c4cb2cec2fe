import { type FileHandle, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir } from "../../common/durable-fs.js";
import { ackLogPath } from "./ack-log.js";
import { SEGMENT_MAGIC } from "./frame.js";
import { IntervalSet } from "./interval-set.js";

export const SEGMENT_RE = /^seg-(\d{12})\.log$/;

export interface Segment {
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

/** The spool's segment files in order, with the count of records appended and not yet acknowledged. */
export class SegmentList {
  items: Segment[] = [];
  nextSeq = 1;
  unackedRecords = 0;
  /** Payload+frame bytes of the unacknowledged records. */
  unackedBytes = 0;

  constructor(readonly dir: string) {}

  path(seq: number): string {
    return join(this.dir, `seg-${String(seq).padStart(12, "0")}.log`);
  }

  /** Bytes of segment files on disk (what SPOOL_MAX_BYTES bounds). */
  diskBytes(): number {
    let n = 0;
    for (const s of this.items) if (!s.deleted) n += s.size;
    return n;
  }

  /** Creates the next segment file (magic written and, with `fsync`, durable with its directory entry). */
  async create(fsync: boolean): Promise<{ seg: Segment; fh: FileHandle }> {
    const seq = this.nextSeq++;
    const path = this.path(seq);
    const fh = await open(path, "wx");
    try {
      await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      if (fsync) {
        await fh.sync();
        await fsyncDir(this.dir);
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
    this.items.push(seg);
    return { seg, fh };
  }

  /** Removes a sealed segment once every frame in it is acknowledged. True if it was removed now. */
  async deleteIfDone(seg: Segment): Promise<boolean> {
    if (seg.deleted || !seg.sealed) return false;
    if (seg.size > SEGMENT_MAGIC.length && !seg.acked.covers(SEGMENT_MAGIC.length, seg.size)) return false;
    seg.deleted = true;
    // Data file first: a crash in between leaves an orphan ack log, which recovery removes.
    await rm(seg.path, { force: true });
    await rm(ackLogPath(seg.path), { force: true });
    this.items = this.items.filter((s) => s !== seg);
    return true;
  }
}

/** For tests and tools: the spool's segment files currently on disk. */
export async function listSegmentFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => SEGMENT_RE.test(n)).sort();
}
