import { crc32 } from "node:zlib";

/**
 * On-disk framing of one spooled record:
 *   u32 LE payload length | u32 LE crc32(timestamp bytes + payload) | f64 LE append time (epoch ms) | payload
 * A frame whose length runs past the end of the file, whose length is zero, or whose checksum does not match is a torn
 * (partially written) tail: it is cut off, never interpreted.
 */
export const FRAME_HEADER_BYTES = 16;

/** Every segment file starts with this magic so a foreign or truncated-at-birth file is recognised. */
export const SEGMENT_MAGIC = Buffer.from("WFSPOOL1", "ascii");

/** Upper bound for one payload; anything claiming more is a corrupt header (webhook bodies are capped far below). */
const MAX_FRAME_PAYLOAD = 512 * 1024 * 1024;

export function encodeFrame(payload: Buffer, appendedAtMs: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeDoubleLE(appendedAtMs, 8);
  payload.copy(frame, FRAME_HEADER_BYTES);
  frame.writeUInt32LE(checksum(frame.subarray(8, 16), payload), 4);
  return frame;
}

function checksum(tsBytes: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(tsBytes));
}

export interface FrameHeader {
  payloadBytes: number;
  crc: number;
  appendedAtMs: number;
}

export function decodeHeader(buf: Buffer, at: number): FrameHeader {
  return {
    payloadBytes: buf.readUInt32LE(at),
    crc: buf.readUInt32LE(at + 4),
    appendedAtMs: buf.readDoubleLE(at + 8),
  };
}

/** Whether a header is plausible before its payload is read (zero-filled tails read as length 0). */
export function headerLooksValid(h: FrameHeader): boolean {
  return (
    h.payloadBytes > 0 && h.payloadBytes <= MAX_FRAME_PAYLOAD && Number.isFinite(h.appendedAtMs) && h.appendedAtMs > 0
  );
}

/** `frame` is header + payload in one buffer. */
export function frameChecksumOk(header: FrameHeader, headerBytes: Buffer, payload: Buffer): boolean {
  return checksum(headerBytes.subarray(8, 16), payload) === header.crc;
}
