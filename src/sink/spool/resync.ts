import { type FileHandle, open } from "node:fs/promises";
import { decodeHeader, FRAME_HEADER_BYTES, frameChecksumOk, headerLooksValid } from "./frame.js";

const CHUNK = 1024 * 1024;

/** Files the spool sets damaged bytes aside in (`seg-N.log.corrupt-<offset>-<ms>`, `seg-N.log.foreign-<ms>`). */
export const SET_ASIDE_RE = /^seg-\d{12}\.log\.(?:corrupt|foreign)-[\d-]+$/;

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * After a frame that does not verify: the first offset in [from, size) where a whole frame verifies (plausible
 * header, payload inside the file, CRC32 over timestamp and payload), or undefined when none does. Reads in bounded
 * chunks; a random match needs a plausible header and a 32-bit checksum to agree.
 */
export async function findNextFrame(fh: FileHandle, from: number, size: number): Promise<number | undefined> {
  for (let base = from; base + FRAME_HEADER_BYTES <= size; base += CHUNK) {
    const buf = await readAt(fh, base, Math.min(CHUNK + FRAME_HEADER_BYTES - 1, size - base));
    for (let i = 0; i < CHUNK && i + FRAME_HEADER_BYTES <= buf.length; i++) {
      const h = decodeHeader(buf, i);
      const frameBytes = FRAME_HEADER_BYTES + h.payloadBytes;
      if (!headerLooksValid(h) || base + i + frameBytes > size) continue;
      const frame =
        i + frameBytes <= buf.length ? buf.subarray(i, i + frameBytes) : await readAt(fh, base + i, frameBytes);
      if (frame.length === frameBytes && frameChecksumOk(h, frame, frame.subarray(FRAME_HEADER_BYTES))) {
        return base + i;
      }
    }
  }
  return undefined;
}

/** Copies [from, to) of a segment to `aside` and fsyncs it. */
export async function copyAside(fh: FileHandle, from: number, to: number, aside: string): Promise<void> {
  const out = await open(aside, "w", 0o600);
  try {
    for (let pos = from; pos < to; pos += CHUNK) await out.write(await readAt(fh, pos, Math.min(CHUNK, to - pos)));
    await out.sync();
  } finally {
    await out.close();
  }
}
