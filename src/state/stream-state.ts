import { z } from "zod";
import { StateError, type StateStore } from "./store.js";

/**
 * What the poller remembers per stream. `cursor` is the bookmark of a windowed stream: every record whose cursor
 * field (created_at / updated_at) is before this Unix second has been written durably to the sink.
 * `seen` holds what daily and snapshot streams compare against: date → content hash for nps_summary (recent days
 * only), key → content hash for snapshots. Window streams keep their per-record versions in version shards instead
 * (version-map.ts); `shards` lists the months that have one, so a reconciliation finds months whose records all
 * disappeared. `reconcile` is the progress of an unfinished full reconciliation.
 */
export const streamStateSchema = z.object({
  stream: z.string(),
  cursor: z.number().int().optional(),
  /** The earliest cursor value ever emitted (responses: where the account's history starts). */
  earliest: z.number().int().optional(),
  seen: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.string()]))).default({}),
  /** Backfill progress documents record their range so a re-run with other dates never reuses them. */
  range: z.object({ since: z.number().int(), until: z.number().int() }).optional(),
  completed: z.boolean().optional(),
  /** Months (YYYY-MM) with a version shard; listed before the shard is first written. */
  shards: z.array(z.string()).optional(),
  reconcile: z
    .object({
      /** Every month before this Unix second (a month start) was read completely and settled. */
      through: z.number().int(),
      /** The read's upper bound when this reconciliation began. */
      first_end: z.number().int(),
      started_at: z.string(),
    })
    .optional(),
  reconciled_at: z.string().optional(),
  written_at: z.string().optional(),
});
export type StreamState = z.infer<typeof streamStateSchema>;

/** Only this stream's state is unreadable: the other streams go on. */
export class CorruptStateError extends StateError {
  constructor(key: string, detail: string) {
    super(`state "${key}" is unreadable (${detail}); move it aside to start that stream over`, false);
  }
}

/** One stream's state document and the version it was read at, saved with compare-and-swap. */
export class StreamStateDoc {
  private constructor(
    private readonly store: StateStore,
    readonly key: string,
    public state: StreamState,
    private version: string | undefined,
  ) {}

  static async load(store: StateStore, key: string, stream: string): Promise<StreamStateDoc> {
    const doc = await store.read(key);
    if (!doc) return new StreamStateDoc(store, key, { stream, seen: {} }, undefined);
    let raw: unknown;
    try {
      raw = JSON.parse(doc.body);
    } catch {
      throw new CorruptStateError(key, "not JSON");
    }
    const parsed = streamStateSchema.safeParse(raw);
    if (!parsed.success) throw new CorruptStateError(key, parsed.error.issues[0]?.message ?? "schema");
    return new StreamStateDoc(store, key, parsed.data, doc.version);
  }

  get exists(): boolean {
    return this.version !== undefined;
  }

  /** Writes the current state; throws StateConflictError when another writer changed it since we read it. */
  async save(writtenAt: Date): Promise<void> {
    this.state.written_at = writtenAt.toISOString();
    const body = JSON.stringify(this.state);
    this.version = await this.store.write(
      this.key,
      body,
      this.version === undefined ? { ifAbsent: true } : { ifVersion: this.version },
    );
  }
}

export const bookmarkKey = (stream: string) => `bookmarks/${stream}.json`;
export const backfillKey = (stream: string, since: string, until: string) =>
  `backfill/${stream}/${since}_${until}.json`;
