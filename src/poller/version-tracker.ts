import { contentHash } from "../records/envelope.js";
import { toEpochSeconds } from "../records/time.js";
import type { StateStore } from "../state/store.js";
import type { StreamStateDoc } from "../state/stream-state.js";
import { monthOf, type Shard, VersionShards } from "../state/version-map.js";
import type { WindowStreamDecl } from "./streams.js";

/** A record as the version map knows it. */
export interface RecordVersion {
  id: number;
  month: string;
  version: number;
  parent: number;
}

/**
 * The version a record is delivered at: updated_at in Unix seconds, or, for a record without one, a negative number
 * from a hash of its content (so the two can never be mistaken for each other).
 */
export function versionOf(row: Record<string, unknown>): number {
  const updated = toEpochSeconds(row.updated_at);
  if (updated !== undefined && updated >= 0) return updated;
  return -(Number.parseInt(contentHash(row).slice(0, 8), 16) % 2 ** 31) - 1;
}

const safeId = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

/**
 * One stream's "last delivered version" map (the version shards) plus the list of its months in the stream document.
 * `sync` and the full reconciliation both go through it: a record is written only when its version differs from the
 * one delivered before, and remembered only once the sink has made it durable.
 */
export class VersionTracker {
  readonly shards: VersionShards;

  constructor(
    store: StateStore,
    private readonly decl: WindowStreamDecl,
    private readonly doc: StreamStateDoc,
  ) {
    this.shards = new VersionShards(store, decl.name);
  }

  /** The record's id, shard month, version and parent; undefined when it cannot be tracked (no id or created_at). */
  identify(row: Record<string, unknown>): RecordVersion | undefined {
    const id = safeId(row.id);
    const created = toEpochSeconds(row.created_at);
    if (id === undefined || created === undefined) return undefined;
    const parent = this.decl.parentField ? (safeId(row[this.decl.parentField]) ?? 0) : 0;
    return { id, month: monthOf(created), version: versionOf(row), parent };
  }

  /** True when exactly this version was delivered before. */
  async isDelivered(r: RecordVersion): Promise<boolean> {
    const shard = await this.shards.get(r.month);
    return shard.entries.get(r.id)?.version === r.version;
  }

  /** Remembers a delivered version (call only after the sink made it durable). */
  async remember(r: RecordVersion): Promise<void> {
    const shard = await this.shards.get(r.month);
    shard.entries.set(r.id, { version: r.version, parent: r.parent });
    shard.dirty = true;
  }

  shard(month: string): Promise<Shard> {
    return this.shards.get(month);
  }

  /** Months with a shard, as listed in the stream document. */
  months(): string[] {
    return this.doc.state.shards ?? [];
  }

  /**
   * Writes the changed shards. A month seen for the first time is listed in the stream document (and that written)
   * before its shard, so a shard is never unknown to the reconciliation that must settle its month.
   */
  async flush(now: Date): Promise<void> {
    const dirty = this.shards.dirty();
    if (dirty.length === 0) return;
    const known = new Set(this.months());
    const fresh = dirty.map((s) => s.month).filter((m) => !known.has(m));
    if (fresh.length > 0) {
      this.doc.state.shards = [...known, ...fresh].sort();
      await this.doc.save(now);
    }
    await this.shards.flush();
  }
}
