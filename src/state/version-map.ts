import { gunzipSync, gzipSync } from "node:zlib";
import { z } from "zod";
import type { StateStore } from "./store.js";
import { CorruptStateError } from "./stream-state.js";

/**
 * The last delivered version of every record of a window stream, for the whole history: what `sync` compares
 * against to skip unchanged records and what the full reconciliation compares against to find edits, never-delivered
 * records and deletions.
 *
 * Sharded by the UTC month of the record's created_at (`versions/<stream>/<YYYY-MM>.json`), so an edit rewrites one
 * month, and a reconciliation that has read a month completely can settle that month alone. Each shard is a small
 * JSON document holding a packed, gzipped, base64 column store:
 *   varint count · ids ascending as varint deltas · versions as zigzag varint deltas · parents as zigzag varint deltas
 * A version is the record's updated_at in Unix seconds, or for records without one a negative 31-bit number taken
 * from a hash of its content. The parent is the owning end user's id (responses, declines) or 0, so a tombstone
 * can say whose record went away. Ids created close together are close together, and so are their versions, which
 * is what makes the deltas small (measured in bench/poller.ts; the target is 16 bytes per record stored).
 */

export interface VersionEntry {
  version: number;
  parent: number;
}

export const SHARD_ENCODING = "varint-delta-v1";
const FLUSH_CONCURRENCY = 8;

const shardDocSchema = z.object({
  stream: z.string(),
  month: z.string(),
  records: z.number().int().nonnegative(),
  encoding: z.literal(SHARD_ENCODING),
  gzip: z.boolean(),
  data: z.string(),
});

export const shardKey = (stream: string, month: string) => `versions/${stream}/${month}.json`;

/** YYYY-MM (UTC) of a Unix second. */
export function monthOf(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 7);
}

/** First Unix second of a YYYY-MM month (UTC). */
export function monthStart(month: string): number {
  return Date.parse(`${month}-01T00:00:00Z`) / 1000;
}

/** First Unix second of the month after `month`. */
export function monthEnd(month: string): number {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return Date.UTC(y, m, 1) / 1000;
}

const zigzag = (v: number) => (v >= 0 ? 2 * v : -2 * v - 1);
const unzigzag = (v: number) => (v % 2 === 0 ? v / 2 : -(v + 1) / 2);

/** Unsigned LEB128 with arithmetic instead of bit operations, so values up to 2^53 survive. */
function putVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b % 128) * scale;
      if (b < 128) return result;
      scale *= 128;
      if (scale > 2 ** 56) throw new Error("varint too long");
    }
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

export function packEntries(entries: ReadonlyMap<number, VersionEntry>): Buffer {
  const ids = [...entries.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  putVarint(out, ids.length);
  let prev = 0;
  for (const id of ids) {
    putVarint(out, id - prev);
    prev = id;
  }
  prev = 0;
  for (const id of ids) {
    const v = entries.get(id)!.version;
    putVarint(out, zigzag(v - prev));
    prev = v;
  }
  prev = 0;
  for (const id of ids) {
    const p = entries.get(id)!.parent;
    putVarint(out, zigzag(p - prev));
    prev = p;
  }
  return Buffer.from(out);
}

export function unpackEntries(buf: Uint8Array): Map<number, VersionEntry> {
  const r = new Reader(buf);
  const n = r.varint();
  const ids: number[] = new Array(n);
  let acc = 0;
  for (let i = 0; i < n; i += 1) ids[i] = acc += r.varint();
  const versions: number[] = new Array(n);
  acc = 0;
  for (let i = 0; i < n; i += 1) versions[i] = acc += unzigzag(r.varint());
  const out = new Map<number, VersionEntry>();
  acc = 0;
  for (let i = 0; i < n; i += 1) {
    acc += unzigzag(r.varint());
    out.set(ids[i]!, { version: versions[i]!, parent: acc });
  }
  if (!r.done) throw new Error("trailing bytes");
  return out;
}

/** The stored text of a shard. */
export function encodeShard(stream: string, month: string, entries: ReadonlyMap<number, VersionEntry>): string {
  const packed = packEntries(entries);
  const zipped = gzipSync(packed, { level: 9 });
  const gzip = zipped.length < packed.length;
  return JSON.stringify({
    stream,
    month,
    records: entries.size,
    encoding: SHARD_ENCODING,
    gzip,
    data: (gzip ? zipped : packed).toString("base64"),
  });
}

export function decodeShard(key: string, body: string): Map<number, VersionEntry> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new CorruptStateError(key, "not JSON");
  }
  const parsed = shardDocSchema.safeParse(raw);
  if (!parsed.success) throw new CorruptStateError(key, parsed.error.issues[0]?.message ?? "schema");
  try {
    const bytes = Buffer.from(parsed.data.data, "base64");
    const entries = unpackEntries(parsed.data.gzip ? gunzipSync(bytes) : bytes);
    if (entries.size !== parsed.data.records)
      throw new Error(`holds ${entries.size} records, says ${parsed.data.records}`);
    return entries;
  } catch (err) {
    if (err instanceof CorruptStateError) throw err;
    throw new CorruptStateError(key, (err as Error).message);
  }
}

export interface Shard {
  readonly month: string;
  readonly entries: Map<number, VersionEntry>;
  /** The store version it was read at (undefined: not stored yet). */
  storedVersion: string | undefined;
  dirty: boolean;
}

/** One stream's shards, loaded on demand, written back with compare-and-swap. */
export class VersionShards {
  private readonly cache = new Map<string, Shard>();

  constructor(
    private readonly store: StateStore,
    readonly stream: string,
  ) {}

  async get(month: string): Promise<Shard> {
    const cached = this.cache.get(month);
    if (cached) return cached;
    const key = shardKey(this.stream, month);
    const doc = await this.store.read(key);
    const shard: Shard = {
      month,
      entries: doc ? decodeShard(key, doc.body) : new Map(),
      storedVersion: doc?.version,
      dirty: false,
    };
    this.cache.set(month, shard);
    return shard;
  }

  /** Months changed in memory and not written yet. */
  dirty(): Shard[] {
    return [...this.cache.values()].filter((s) => s.dirty);
  }

  /**
   * Writes every changed shard, a few at a time (an end-user sync can touch many months); StateConflictError when
   * another writer changed one since it was read.
   */
  async flush(): Promise<void> {
    const queue = this.dirty();
    const writeNext = async (): Promise<void> => {
      for (let shard = queue.shift(); shard; shard = queue.shift()) {
        const body = encodeShard(this.stream, shard.month, shard.entries);
        shard.storedVersion = await this.store.write(
          shardKey(this.stream, shard.month),
          body,
          shard.storedVersion === undefined ? { ifAbsent: true } : { ifVersion: shard.storedVersion },
        );
        shard.dirty = false;
      }
    };
    await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, queue.length) }, writeNext));
  }

  /** Forgets written shards of months before `month` (a reconciliation is done with them). */
  evictBefore(month: string): void {
    for (const [m, s] of this.cache) if (m < month && !s.dirty) this.cache.delete(m);
  }
}
