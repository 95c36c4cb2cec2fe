import { ENTITY_DEFS } from "../records/entities.js";
import { contentHash, type Envelope, makeTombstone } from "../records/envelope.js";
import { bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import { WootricApiError } from "../wootric/errors.js";
import { type EngineDeps, type RunMode, type StreamResult, StreamRun, toEnvelope } from "./stream-run.js";
import type { SnapshotStreamDecl } from "./streams.js";

/** Keys of records without one of their own (a hash of the content): such a record cannot be named in a tombstone. */
const HASH_KEY = /^h[0-9a-f]{32}$/;

/**
 * A small unpaginated list read whole (segments, survey templates). Every read is complete, so sync and the full
 * reconciliation alike write the records whose content changed and a tombstone for each key that disappeared.
 * Inside a backfill every record is written and no state is kept.
 */
export async function runSnapshotStream(
  deps: EngineDeps,
  decl: SnapshotStreamDecl,
  mode: RunMode,
): Promise<StreamResult> {
  const now = Math.floor(deps.clock.now() / 1000);
  const doc =
    mode.kind === "backfill" ? undefined : await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name);
  const run = new StreamRun(deps, decl.name, doc);
  return run.run({ from: now, to: now + 1 }, async () => {
    const body = await deps.client.getJson(decl.endpoint, {}, deps.signal);
    let list: unknown[];
    try {
      list = decl.extract(body);
    } catch (err) {
      throw new WootricApiError(
        `GET ${decl.endpoint}: ${(err as Error).message}`,
        200,
        decl.endpoint,
        JSON.stringify(body).slice(0, 300),
      );
    }
    const previous = doc?.state.seen.all ?? {};
    const next: Record<string, string> = {};
    const receivedAt = new Date(deps.clock.now());
    const envelopes: Envelope[] = [];
    for (const record of list) {
      const hash = contentHash(record);
      const key = decl.keyOf(record) ?? `h${hash}`;
      next[key] = hash;
      if (previous[key] === hash) continue;
      envelopes.push(toEnvelope(decl.entity, record, receivedAt));
    }
    if (doc) {
      const numeric = ENTITY_DEFS[decl.entity].idType === "bigint";
      for (const key of Object.keys(previous)) {
        if (key in next || HASH_KEY.test(key)) continue;
        const id = numeric && /^\d+$/.test(key) ? Number(key) : key;
        envelopes.push(makeTombstone(decl.entity, id, {}, receivedAt));
      }
    }
    await run.emit(envelopes);
    if (doc) {
      doc.state.seen = { all: next };
      doc.state.cursor = now;
    }
  });
}
