import { readSync } from "node:fs";

/**
 * Positioned reads of one file through one bounded window: one read per window rather than per frame, and never more
 * than one window held. Used by the reader (live segments) and by recovery (the scan at open).
 */
export class ReadWindow {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(private readonly windowBytes: number) {}

  /** Forgets the window: the file changed, or bytes in it were set aside. */
  clear(): void {
    this.buf = Buffer.alloc(0);
  }

  /**
   * `len` bytes at `pos` of the file open as `fd`, whose data ends at `limit` (a refill reads up to it, at most one
   * window, at least `len`). Undefined when the file holds fewer than `len` bytes there. Callers switching files clear().
   */
  read(fd: number, pos: number, len: number, limit: number): Buffer | undefined {
    if (pos < this.start || pos + len > this.start + this.buf.length) {
      const want = Math.min(Math.max(len, this.windowBytes), Math.max(len, limit - pos));
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      this.buf = buf.subarray(0, got);
      this.start = pos;
      if (got < len) return undefined;
    }
    return this.buf.subarray(pos - this.start, pos - this.start + len);
  }
}
