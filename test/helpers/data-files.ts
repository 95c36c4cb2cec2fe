import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Envelope } from "../../src/records/envelope.js";

/** Every file under dir (recursive), relative paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Reads every closed `*.json.gz` under dataDir strictly (a truncated gzip stream throws) and parses each line. */
export async function readClosedRecords(dataDir: string): Promise<{ file: string; envelope: Envelope }[]> {
  const out: { file: string; envelope: Envelope }[] = [];
  for (const file of await listFiles(dataDir)) {
    if (!file.endsWith(".json.gz")) continue;
    const text = gunzipSync(await readFile(join(dataDir, file))).toString("utf8");
    if (text.length > 0 && !text.endsWith("\n")) throw new Error(`${file} does not end with a newline`);
    for (const line of text.split("\n")) if (line !== "") out.push({ file, envelope: JSON.parse(line) as Envelope });
  }
  return out;
}
