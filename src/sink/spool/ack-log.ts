import { open, readFile } from "node:fs/promises";
import { decodeHeader, encodeFrame, FRAME_HEADER_BYTES, frameChecksumOk, headerLooksValid } from "./frame.js";
import { IntervalSet } from "./interval-set.js";

/**
 * Each segment `seg-N.log` has an ack log `seg-N.acks`: frames (same CRC framing as records) whose payload is a list of
 * acknowledged [start, end) frame ranges as u32 pairs. Appended lazily without fsync (a lost ack only means a record is
 * sent again); fsynced on close. A torn tail is ignored.
 */
export function ackLogPath(segmentPath: string): string {
  return segmentPath.replace(/\.log$/, ".acks");
}

export async function appendAckEntries(path: string, ranges: readonly number[], sync: boolean): Promise<void> {
  if (ranges.length === 0) return;
  const payload = Buffer.allocUnsafe(ranges.length * 4);
  for (const [i, v] of ranges.entries()) payload.writeUInt32LE(v, i * 4);
  const fh = await open(path, "a");
  try {
    await fh.write(encodeFrame(payload, Date.now()));
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

export async function readAckLog(path: string): Promise<IntervalSet> {
  const set = new IntervalSet();
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return set;
    throw err;
  }
  let pos = 0;
  while (pos + FRAME_HEADER_BYTES <= buf.length) {
    const h = decodeHeader(buf, pos);
    const end = pos + FRAME_HEADER_BYTES + h.payloadBytes;
    if (!headerLooksValid(h) || end > buf.length || h.payloadBytes % 8 !== 0) break;
    const payload = buf.subarray(pos + FRAME_HEADER_BYTES, end);
    if (!frameChecksumOk(h, buf.subarray(pos, pos + FRAME_HEADER_BYTES), payload)) break;
    for (let i = 0; i < payload.length; i += 8) set.add(payload.readUInt32LE(i), payload.readUInt32LE(i + 4));
    pos = end;
  }
  return set;
}
