import { z } from "zod";
import { StateConflictError, type StateStore } from "../state/store.js";

/**
 * What `replay` has already done, kept in the state store (STATE_URL) so a second run does nothing new:
 *   replay/dead-letters.json  dead-letter identity → when it was recovered and the dedup_keys it gave;
 *   replay/redriven.json      Firehose error object (location + ETag) → when it was re-driven and how many records.
 * An entry is added only after the sink made its records durable. A run that dies in between writes those records
 * again next time: the same dedup_keys, so consumers that keep one row per dedup_key see no difference.
 * Written with compare-and-swap, so two replays at once cannot overwrite each other (the second one stops).
 */
const entrySchema = z.object({
  at: z.string(),
  /** dead letters: the dedup_keys recovered. */
  keys: z.array(z.string()).optional(),
  /** re-drive: the error object the record was read from. */
  from: z.string().optional(),
});
const docSchema = z.object({ version: z.literal(1), done: z.record(z.string(), entrySchema) });

export type ReplayEntry = z.infer<typeof entrySchema>;

export const DEAD_LETTERS_KEY = "replay/dead-letters.json";
export const REDRIVEN_KEY = "replay/redriven.json";

export class ReplayRecord {
  private constructor(
    private readonly store: StateStore,
    private readonly key: string,
    private readonly done: Record<string, ReplayEntry>,
    private storedVersion: string | undefined,
  ) {}

  static async load(store: StateStore, key: string): Promise<ReplayRecord> {
    const doc = await store.read(key);
    if (!doc) return new ReplayRecord(store, key, {}, undefined);
    const parsed = docSchema.safeParse(JSON.parse(doc.body));
    if (!parsed.success)
      throw new Error(`${store.location}/${key} is not a replay record; move it aside to start over`);
    return new ReplayRecord(store, key, parsed.data.done, doc.version);
  }

  has(id: string): boolean {
    return Object.hasOwn(this.done, id);
  }

  get(id: string): ReplayEntry | undefined {
    return this.has(id) ? this.done[id] : undefined;
  }

  get size(): number {
    return Object.keys(this.done).length;
  }

  /** Adds entries and writes the record; throws when another replay changed it meanwhile. */
  async add(entries: [string, ReplayEntry][]): Promise<void> {
    if (entries.length === 0) return;
    for (const [id, entry] of entries)
      Object.defineProperty(this.done, id, { value: entry, enumerable: true, writable: true, configurable: true });
    const body = `${JSON.stringify({ version: 1, done: this.done })}\n`;
    try {
      this.storedVersion = await this.store.write(
        this.key,
        body,
        this.storedVersion === undefined ? { ifAbsent: true } : { ifVersion: this.storedVersion },
      );
    } catch (err) {
      if (err instanceof StateConflictError)
        throw new Error(`another replay changed ${this.store.location}/${this.key} while this one ran; run it again`);
      throw err;
    }
  }
}
