import { contentHash } from "../records/envelope.js";
import { utcDate } from "../records/time.js";
import { backfillKey, bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import { WootricApiError } from "../wootric/errors.js";
import { type EngineDeps, type RunMode, type StreamResult, StreamRun, toEnvelope } from "./stream-run.js";
import type { DailyStreamDecl } from "./streams.js";
import { DAY, dayStartSec, readEnd } from "./window-stream.js";

function addDays(day: string, n: number): string {
  return utcDate(Date.parse(`${day}T00:00:00Z`) + n * DAY * 1000);
}

/**
 * An aggregate asked for one day at a time (nps_summary). Sync (and the full reconciliation, which treats it the
 * same way: an aggregate has nothing to tombstone) re-reads the recent days and writes a day again when its content
 * changed; backfill re-reads its range.
 */
export async function runDailyStream(deps: EngineDeps, decl: DailyStreamDecl, mode: RunMode): Promise<StreamResult> {
  const { poll } = deps;
  const today = utcDate(readEnd(deps) * 1000);
  // Days are asked for in the account's time zone (up to 12 h behind UTC), so a UTC day that just ended may still be
  // open there: keep re-reading the last two days whatever LOOKBACK_DAYS says (two, so a daily cron re-reads it too).
  const oldestRecomputed = addDays(today, -Math.max(2, poll.lookbackDays));
  let doc: StreamStateDoc;
  let first: string;
  let last = today;
  if (mode.kind !== "backfill") {
    doc = await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name);
    let start: string;
    if (doc.state.cursor !== undefined) start = utcDate(doc.state.cursor * 1000);
    else if (poll.startDate) start = poll.startDate;
    else {
      // No start date: begin where the account's responses begin (known once responses were synced).
      const responses = await StreamStateDoc.load(deps.store, bookmarkKey("responses"), "responses");
      if (responses.state.cursor === undefined) {
        // Starting at the lookback now would save a bookmark there and skip the account's history for good.
        deps.logger.warn(
          "nps_summary waits for the first responses sync: it starts on the day of the first response (or set SYNC_START_DATE)",
        );
        return { stream: decl.name, records: 0, deadLetters: 0, tombstones: 0 };
      }
      start = responses.state.earliest !== undefined ? utcDate(responses.state.earliest * 1000) : oldestRecomputed;
    }
    first = start < oldestRecomputed ? start : oldestRecomputed;
    if (poll.startDate && first < poll.startDate) first = poll.startDate;
  } else {
    first = mode.since;
    // biome-ignore lint/complexity/useMathMinMax: ISO date strings, not numbers
    if (mode.until) last = addDays(mode.until, -1) < today ? addDays(mode.until, -1) : today;
    doc = await StreamStateDoc.load(deps.store, backfillKey(decl.name, mode.since, mode.until ?? "now"), decl.name);
    if (!doc.exists || doc.state.completed) doc.state = { stream: decl.name, seen: {} };
    if (doc.state.cursor !== undefined && utcDate(doc.state.cursor * 1000) > first)
      first = utcDate(doc.state.cursor * 1000);
  }
  const run = new StreamRun(deps, decl.name, doc);
  return run.run({ from: dayStartSec(first), to: dayStartSec(last) + DAY }, async () => {
    for (let day = first; day <= last; day = addDays(day, 1)) {
      deps.signal?.throwIfAborted();
      const body = await deps.client.getJson(decl.endpoint, { "date[start]": day, "date[end]": day }, deps.signal);
      const record = Array.isArray(body) && body.length === 1 ? body[0] : body;
      if (record === null || typeof record !== "object" || Array.isArray(record)) {
        throw new WootricApiError(
          `GET ${decl.endpoint} for ${day} did not answer a JSON object`,
          200,
          decl.endpoint,
          JSON.stringify(body).slice(0, 300),
        );
      }
      const hash = contentHash(record);
      if (!(mode.kind !== "backfill" && doc.state.seen[day]?.[day] === hash)) {
        await run.emit([toEnvelope(decl.entity, record, new Date(deps.clock.now()), day)]);
        doc.state.seen[day] = { [day]: hash };
      }
      // Today is never final; a closed day is final only once it leaves the lookback, but the cursor marks progress.
      if (day < today) doc.state.cursor = Math.max(doc.state.cursor ?? 0, dayStartSec(day) + DAY);
      deps.progress.streamProgress(decl.name, run.result.records, dayStartSec(day) + DAY);
      await run.checkpoint();
    }
    if (mode.kind !== "backfill") {
      for (const day of Object.keys(doc.state.seen)) if (day < oldestRecomputed) delete doc.state.seen[day];
    } else {
      doc.state.completed = true;
    }
  });
}
