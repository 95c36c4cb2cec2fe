import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { constants, crc32, createGunzip, gunzipSync, gzipSync } from "node:zlib";
import { fsyncDir } from "../../common/durable-fs.js";
import { OPEN_SUFFIX } from "./gzip-file.js";

/**
 * Decompresses as much of a gzip stream as is intact: a file left open by a crash has no trailer, and its tail after
 * the last sync flush may be torn. Returns the text up to the last complete line.
 */
export async function readIntactLines(compressed: Buffer): Promise<string> {
  const out: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
    gunzip.on("data", (c: Buffer) => out.push(c));
    gunzip.on("end", () => resolve());
    gunzip.on("error", () => resolve());
    gunzip.end(compressed);
  });
  const text = Buffer.concat(out).toString("utf8");
  const lastNewline = text.lastIndexOf("\n");
  return lastNewline < 0 ? "" : text.slice(0, lastNewline + 1);
}

export interface RecoveredFile {
  path: string;
  lines: number;
}

/**
 * Finalises files a crashed process left open: their synced content (every acknowledged record) is rewritten as a
 * complete gzip file under the closed name, so `zcat` and every other reader handle it; an empty one is removed.
 */
export async function recoverOpenFiles(
  dataDir: string,
  onFile: (openPath: string) => void = () => undefined,
): Promise<RecoveredFile[]> {
  const recovered: RecoveredFile[] = [];
  for (const openPath of await findOpenFiles(dataDir)) {
    onFile(openPath);
    recovered.push(await recoverOpenFile(openPath));
  }
  return recovered;
}

/**
 * Finalises one `*.json.gz.open` file that no writer holds any more. In place when it can (no free space needed, so a
 * full disk never blocks start-up): cut at the last sync flush that ends on a whole line and append the end of the
 * gzip stream (an empty final block, CRC32 and length: 10 bytes). Otherwise the intact lines are rewritten beside it.
 */
export async function recoverOpenFile(openPath: string): Promise<RecoveredFile> {
  const finalPath = openPath.slice(0, -OPEN_SUFFIX.length);
  const compressed = await readFile(openPath);
  const text = Buffer.from(await readIntactLines(compressed), "utf8");
  const lines = text.length === 0 ? 0 : text.toString("utf8").split("\n").length - 1;
  if (lines > 0) {
    const cut = syncFlushEndingAt(compressed, text);
    if (cut !== undefined) await finishInPlace(openPath, cut, text);
    else await rewriteBeside(openPath, finalPath, text);
    await rename(openPath, finalPath);
  } else {
    await unlink(openPath);
  }
  await fsyncDir(dirname(openPath));
  return { path: lines > 0 ? finalPath : openPath, lines };
}

const SYNC_FLUSH_MARK = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The end offset of the last sync flush whose decompressed prefix is exactly `text`, if there is one. */
function syncFlushEndingAt(compressed: Buffer, text: Buffer): number | undefined {
  for (
    let at = compressed.lastIndexOf(SYNC_FLUSH_MARK);
    at >= 0;
    at = compressed.lastIndexOf(SYNC_FLUSH_MARK, at - 1)
  ) {
    const end = at + SYNC_FLUSH_MARK.length;
    try {
      const out = gunzipSync(compressed.subarray(0, end), { finishFlush: constants.Z_SYNC_FLUSH });
      if (out.length === text.length && out.equals(text)) return end;
      if (out.length < text.length) return undefined;
    } catch {
      /* a chance match of the marker inside compressed data: keep looking */
    }
    if (at === 0) break;
  }
  return undefined;
}

async function finishInPlace(openPath: string, cut: number, text: Buffer): Promise<void> {
  const trailer = Buffer.alloc(10);
  trailer[0] = 0x03; // final block, fixed Huffman, end-of-block: an empty last block
  trailer[1] = 0x00;
  trailer.writeUInt32LE(crc32(text), 2);
  trailer.writeUInt32LE(text.length % 2 ** 32, 6);
  const handle = await open(openPath, "r+");
  try {
    await handle.truncate(cut);
    await handle.write(trailer, 0, trailer.length, cut);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function rewriteBeside(openPath: string, finalPath: string, text: Buffer): Promise<void> {
  const tmp = `${finalPath}.recovering`;
  try {
    const handle = await open(tmp, "w", 0o644);
    try {
      await handle.writeFile(gzipSync(text));
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    // A partial copy (disk full) helps nobody: the .open file still holds every record.
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rewritten copy replaces the open file: rename it over the open path, which is then renamed to the final name.
  await rename(tmp, openPath);
}

/** `<dataDir>/entity=*\/dt=*\/*.open` */
async function findOpenFiles(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entityDir of await listDirs(dataDir, "entity=")) {
    for (const dtDir of await listDirs(entityDir, "dt=")) {
      for (const name of await readdir(dtDir)) if (name.endsWith(OPEN_SUFFIX)) found.push(join(dtDir, name));
    }
  }
  return found.sort();
}

async function listDirs(parent: string, prefix: string): Promise<string[]> {
  try {
    const entries = await readdir(parent, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && e.name.startsWith(prefix)).map((e) => join(parent, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
