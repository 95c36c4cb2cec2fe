import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { constants, createGunzip, gzipSync } from "node:zlib";
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
export async function recoverOpenFiles(dataDir: string): Promise<RecoveredFile[]> {
  const recovered: RecoveredFile[] = [];
  for (const openPath of await findOpenFiles(dataDir)) recovered.push(await recoverOpenFile(openPath));
  return recovered;
}

/** Finalises one `*.json.gz.open` file that no writer holds any more. */
export async function recoverOpenFile(openPath: string): Promise<RecoveredFile> {
  const finalPath = openPath.slice(0, -OPEN_SUFFIX.length);
  const text = await readIntactLines(await readFile(openPath));
  const lines = text === "" ? 0 : text.split("\n").length - 1;
  if (lines > 0) {
    const tmp = `${finalPath}.recovering`;
    const handle = await open(tmp, "w", 0o644);
    try {
      await handle.writeFile(gzipSync(Buffer.from(text, "utf8")));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, finalPath);
  }
  await unlink(openPath);
  await fsyncDir(dirname(openPath));
  return { path: lines > 0 ? finalPath : openPath, lines };
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
