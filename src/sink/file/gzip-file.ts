import { type FileHandle, open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { constants, createGzip, type Gzip } from "node:zlib";
import { fsyncDir } from "../../common/durable-fs.js";

export const OPEN_SUFFIX = ".open";

/**
 * One gzip file being written: `<name>.json.gz.open` while open, renamed to `<name>.json.gz` once its gzip trailer is
 * written. Each `sync()` ends with a Z_SYNC_FLUSH and an fsync, so everything appended before it is decompressible
 * from disk even if the process dies right after (the stream is then just missing its trailer).
 */
export class GzipFileWriter {
  private readonly gzip: Gzip;
  private readonly chunks: Buffer[] = [];
  /** Compressed bytes on disk. */
  bytesOnDisk = 0;
  /** Uncompressed bytes appended. */
  bytesIn = 0;
  records = 0;
  broken = false;

  private constructor(
    readonly finalPath: string,
    private readonly handle: FileHandle,
    readonly openedAt: number,
  ) {
    this.gzip = createGzip({ level: 6 });
    this.gzip.on("data", (c: Buffer) => this.chunks.push(c));
    // Errors surface through the flush/end callbacks; this keeps an 'error' event from crashing the process.
    this.gzip.on("error", () => {
      this.broken = true;
    });
  }

  get openPath(): string {
    return this.finalPath + OPEN_SUFFIX;
  }

  static async create(finalPath: string): Promise<GzipFileWriter> {
    const handle = await open(finalPath + OPEN_SUFFIX, "wx", 0o644);
    await fsyncDir(dirname(finalPath));
    return new GzipFileWriter(finalPath, handle, Date.now());
  }

  append(data: Buffer, records: number): void {
    this.gzip.write(data);
    this.bytesIn += data.length;
    this.records += records;
  }

  /** Flushes the compressor (Z_SYNC_FLUSH), writes its output and fsyncs. Returns the compressed bytes written. */
  async sync(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.gzip.flush(constants.Z_SYNC_FLUSH, () =>
        this.broken ? reject(new Error("gzip stream failed")) : resolve(),
      );
    });
    // Output pushed on a later tick (when the readable side had buffered data) is emitted before setImmediate runs.
    await new Promise((r) => setImmediate(r));
    const written = await this.writeChunks();
    await this.handle.sync();
    return written;
  }

  /** Writes the gzip trailer, fsyncs, closes and renames `.open` away. Returns the compressed bytes written. */
  async finish(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.gzip.once("end", resolve);
      this.gzip.once("error", reject);
      this.gzip.end();
      this.gzip.resume();
    });
    const written = await this.writeChunks();
    await this.handle.sync();
    await this.handle.close();
    await rename(this.openPath, this.finalPath);
    await fsyncDir(dirname(this.finalPath));
    return written;
  }

  /** Releases the file without finishing it (after an error); startup recovery finalises what was synced. */
  async abandon(): Promise<void> {
    this.broken = true;
    this.gzip.destroy();
    await this.handle.close().catch(() => undefined);
  }

  private async writeChunks(): Promise<number> {
    const buf = Buffer.concat(this.chunks.splice(0));
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.handle.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    this.bytesOnDisk += buf.length;
    return buf.length;
  }
}
