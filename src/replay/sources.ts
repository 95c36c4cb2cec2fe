import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { S3Location } from "../config/index.js";

/**
 * Where dead letters and Firehose error records are read from: the file sink's gzip files under DATA_DIR, and S3
 * objects (gzip or plain JSON lines). Every source yields whole objects, each with the lines it holds; a source can
 * skip whole `dt=YYYY-MM-DD` partitions outside the asked range without reading them.
 */
export interface StoredObject {
  /** Where it is, for messages and the replay record: a path or s3://bucket/key. */
  location: string;
  /** S3 ETag (or file size and mtime): a changed object is a new object. */
  version: string;
  lines: () => Promise<string[]>;
}

/** Inclusive first and exclusive last day, as YYYY-MM-DD; either may be open. */
export interface DayRange {
  sinceDay?: string;
  untilDay?: string;
}

/** Whether a `dt=YYYY-MM-DD` partition can hold anything in the range (untilDay is exclusive at an instant, so kept). */
export function dayInRange(day: string, range: DayRange): boolean {
  if (range.sinceDay !== undefined && day < range.sinceDay) return false;
  if (range.untilDay !== undefined && day > range.untilDay) return false;
  return true;
}

const DT = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})(?:\/|$)/;

/** The text of a gzip (any number of members) or plain object, split into non-empty lines. */
export function linesOf(bytes: Buffer): string[] {
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
  return text.split("\n").filter((l) => l.trim() !== "");
}

/** The file sink's closed `*.json.gz` files under `<dataDir>/entity=<entity>/dt=*`, oldest day first. */
export async function* fileObjects(dataDir: string, entity: string, range: DayRange): AsyncGenerator<StoredObject> {
  const root = join(dataDir, `entity=${entity}`);
  const days = (await readdirOrEmpty(root))
    .filter((d) => d.isDirectory() && d.name.startsWith("dt="))
    .map((d) => d.name.slice(3))
    .filter((day) => dayInRange(day, range))
    .sort();
  for (const day of days) {
    const dir = join(root, `dt=${day}`);
    const files = (await readdirOrEmpty(dir))
      .filter((f) => f.isFile() && f.name.endsWith(".json.gz"))
      .map((f) => f.name)
      .sort();
    for (const name of files) {
      const path = join(dir, name);
      yield { location: path, version: "file", lines: async () => linesOf(await readFile(path)) };
    }
  }
}

async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Every object under `s3://bucket/<prefix>/<sub>`, skipping `dt=` partitions outside the range, in key order. */
export async function* s3Objects(
  s3: S3Client,
  where: S3Location,
  sub: string,
  range: DayRange,
): AsyncGenerator<StoredObject> {
  const prefix = [where.prefix, sub].filter((p) => p !== "").join("/");
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: where.bucket,
        Prefix: prefix === "" ? undefined : `${prefix.replace(/\/+$/, "")}/`,
        ContinuationToken: token,
      }),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith("/")) continue;
      const day = DT.exec(o.Key)?.[1];
      if (day !== undefined && !dayInRange(day, range)) continue;
      const key = o.Key;
      yield {
        location: `s3://${where.bucket}/${key}`,
        version: o.ETag ?? "",
        lines: async () => {
          const out = await s3.send(new GetObjectCommand({ Bucket: where.bucket, Key: key }));
          return linesOf(Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array()));
        },
      };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
