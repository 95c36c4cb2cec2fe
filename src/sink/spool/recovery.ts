import { type FileHandle, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Logger } from "../../log.js";
import { ackLogPath, appendAckEntries, readAckLog } from "./ack-log.js";
import { decodeHeader, FRAME_HEADER_BYTES, frameChecksumOk, headerLooksValid, SEGMENT_MAGIC } from "./frame.js";
import { ReadWindow } from "./read-window.js";
import { findNextFrame, SET_ASIDE_RE } from "./resync.js";
import { SEGMENT_RE, type Segment, type SegmentList } from "./segments.js";
import type { SetAsideFiles } from "./set-aside.js";

const SCAN_WINDOW = 4 * 1024 * 1024;

/**
 * Recovery at open: finds the segment files, validates every frame, cuts torn tails, sets damaged bytes aside and
 * loads the ack logs. Fills `segments` (in order, all sealed) and its count of unacknowledged records.
 */
export async function recoverSegments(segments: SegmentList, setAside: SetAsideFiles, logger: Logger): Promise<void> {
  const { dir } = segments;
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  const seqs = names
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const n of names) if (SET_ASIDE_RE.test(n)) setAside.add(n);
  // Ack logs whose segment is gone (crash between the two unlinks) are leftovers.
  for (const n of names) {
    const m = /^seg-(\d{12})\.acks$/.exec(n);
    if (m && !seqs.includes(Number(m[1]))) await rm(join(dir, n), { force: true });
  }
  for (const seq of seqs) {
    const seg = await recoverSegment(segments, setAside, logger, seq, seq === seqs[seqs.length - 1]);
    if (seg) segments.items.push(seg);
    segments.nextSeq = Math.max(segments.nextSeq, seq + 1);
  }
  if (segments.unackedRecords > 0) {
    logger.info("spool: replaying records not yet acknowledged by Firehose", {
      records: segments.unackedRecords,
      bytes: segments.unackedBytes,
      segments: segments.items.length,
    });
  }
}

/** Validates every frame of a segment, cuts off a torn tail, loads its acks. Undefined if the file is unusable. */
async function recoverSegment(
  segments: SegmentList,
  setAside: SetAsideFiles,
  logger: Logger,
  seq: number,
  isLast: boolean,
): Promise<Segment | undefined> {
  const path = segments.path(seq);
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
        const keptIn = await setAside.keepDamage(fh, path, 0, SEGMENT_MAGIC.length);
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
        setAside.add(basename(aside));
        logger.error("spool: segment file has no spool header; moved aside untouched", { path, movedTo: aside });
        return undefined;
      }
    }
    const acked = await readAckLog(ackLogPath(path));
    let pos = SEGMENT_MAGIC.length;
    const window = new ReadWindow(SCAN_WINDOW);
    const bytesAt = (from: number, len: number): Buffer | undefined =>
      from + len > fileSize ? undefined : window.read(fh.fd, from, len, fileSize);
    /** End of the frame at `at` if the whole frame verifies. */
    const verifiedEnd = (at: number): number | undefined => {
      const header = bytesAt(at, FRAME_HEADER_BYTES);
      if (!header) return undefined;
      const h = decodeHeader(header, 0);
      const end = at + FRAME_HEADER_BYTES + h.payloadBytes;
      if (!headerLooksValid(h) || end > fileSize) return undefined;
      const frame = bytesAt(at, FRAME_HEADER_BYTES + h.payloadBytes);
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
      const end = verifiedEnd(pos);
      if (end !== undefined) {
        segments.unackedRecords++;
        segments.unackedBytes += end - pos;
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
    window.clear();
    for (const [from, to] of damaged) {
      const keptIn = await setAside.keepDamage(fh, path, from, to);
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
      await cutTail(fh, path, unreadableFrom, fileSize, isLast, setAside, logger);
      pos = unreadableFrom;
    }
    return { seq, path, size: pos, sealed: true, acked, pendingAcks: [], deleted: false };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Cuts the unreadable end [pos, fileSize) of a segment, keeping any non-zero bytes of it in a file beside it. */
async function cutTail(
  fh: FileHandle,
  path: string,
  pos: number,
  fileSize: number,
  isLast: boolean,
  setAside: SetAsideFiles,
  logger: Logger,
): Promise<void> {
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
      const keptIn = await setAside.keepDamage(fh, path, pos, fileSize);
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
