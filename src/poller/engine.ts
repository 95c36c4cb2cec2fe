import type { Clock } from "../common/clock.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { RecordEntity } from "../records/entities.js";
import {
  contentHash,
  type Envelope,
  makeDeadLetter,
  makeEnvelope,
  RecordValidationError,
} from "../records/envelope.js";
import { toEpochSeconds, utcDate } from "../records/time.js";
import type { Sink } from "../sink/sink.js";
import type { Lease } from "../state/lease.js";
import type { StateStore } from "../state/store.js";
import { backfillKey, bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import type { WootricClient } from "../wootric/client.js";
import { WootricApiError } from "../wootric/errors.js";
import type { PollerMetrics } from "./poller-metrics.js";
import type { ProgressSink } from "./progress.js";
import type { DailyStreamDecl, SnapshotStreamDecl, StreamDecl, WindowStreamDecl } from "./streams.js";
import { type ScanPage, scanWindow } from "./window-scan.js";

/**
 * A first sync without SYNC_START_DATE reads from the epoch: responses and declines can be created with any backdated
 * created_at (imports of older surveys), and the empty span before the first record costs one request.
 */
export const HISTORY_START = 0;
const DAY = 86_400;

/**
 * `sync`: incremental from each stream's bookmark (plus the lookback), moving the bookmarks.
 * `backfill`: re-reads [since, until) and writes every record in it; its progress lives under backfill/ and the
 * normal bookmarks are left alone (see README "Backfill").
 */
export type RunMode = { kind: "sync" } | { kind: "backfill"; since: string; until?: string };

export interface EngineDeps {
  client: WootricClient;
  store: StateStore;
  sink: Sink;
  clock: Clock;
  logger: Logger;
  metrics: PollerMetrics;
  poll: Config["poll"];
  progress: ProgressSink;
  lease?: Lease;
  signal?: AbortSignal;
  /** Minimum clock time between bookmark writes during a stream (the final write always happens). */
  checkpointEveryMs?: number;
}

export interface StreamResult {
  stream: string;
  records: number;
  deadLetters: number;
  /** The bookmark after the run (ISO), for window streams. */
  bookmark?: string;
}

const dayStartSec = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

export async function runStream(deps: EngineDeps, decl: StreamDecl, mode: RunMode): Promise<StreamResult> {
  switch (decl.kind) {
    case "window":
      return runWindowStream(deps, decl, mode);
    case "daily":
      return runDailyStream(deps, decl, mode);
    case "snapshot":
      return runSnapshotStream(deps, decl, mode);
  }
}

/** Validated envelope, or a dead letter holding the raw record and why: a polled record is never dropped. */
function toEnvelope(entity: RecordEntity, raw: unknown, receivedAt: Date, id?: string): Envelope {
  try {
    return makeEnvelope(entity, raw, { source: "poll", receivedAt, ...(id !== undefined ? { id } : {}) });
  } catch (err) {
    if (!(err instanceof RecordValidationError)) throw err;
    return makeDeadLetter({
      reason: err.message,
      raw: JSON.stringify(raw),
      source: "poll",
      intendedEntity: entity,
      receivedAt,
    });
  }
}

/** Bookmark writes: throttled during a stream, forced at its end, refused once the lease is gone. */
class Checkpointer {
  private last: number;
  constructor(
    private readonly deps: EngineDeps,
    private readonly doc: StreamStateDoc,
  ) {
    this.last = deps.clock.now();
  }
  async maybe(): Promise<void> {
    if (this.deps.clock.now() - this.last >= (this.deps.checkpointEveryMs ?? 5_000)) await this.now();
  }
  async now(): Promise<void> {
    this.deps.lease?.assertHeld();
    await this.doc.save(new Date(this.deps.clock.now()));
    this.last = this.deps.clock.now();
    if (this.doc.state.cursor !== undefined && !this.doc.key.startsWith("backfill/")) {
      this.deps.metrics.bookmark(this.doc.state.stream, this.doc.state.cursor);
    }
  }
}

/** Saves what is durable so far when a stream fails part-way, unless the failure means we may no longer write. */
async function saveAfterFailure(deps: EngineDeps, cp: Checkpointer, err: unknown): Promise<void> {
  const name = (err as Error)?.name;
  if (name === "LeaseLostError" || name === "StateConflictError" || name === "CorruptStateError") return;
  try {
    await cp.now();
  } catch (saveErr) {
    deps.logger.warn("could not save the bookmark after a failure; the next run re-reads from the previous one", {
      error: (saveErr as Error).message,
    });
  }
}

async function runWindowStream(deps: EngineDeps, decl: WindowStreamDecl, mode: RunMode): Promise<StreamResult> {
  const { clock, poll } = deps;
  const end = Math.floor(clock.now() / 1000) - poll.settleSeconds;
  const historyStart = poll.startDate ? dayStartSec(poll.startDate) : HISTORY_START;
  const lookback = mode.kind === "sync" && decl.lookback && poll.lookbackDays > 0;
  const horizon = end - poll.lookbackDays * DAY;
  let doc: StreamStateDoc;
  let from: number;
  let to = end;
  if (mode.kind === "sync") {
    doc = await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name);
    const start = doc.state.cursor ?? historyStart;
    // The lookback re-reads recent created windows; only records whose updated_at moved are written again.
    from = lookback ? Math.max(historyStart, Math.min(start, horizon)) : start;
  } else {
    const since = dayStartSec(mode.since);
    to = Math.min(end, mode.until ? dayStartSec(mode.until) : end);
    doc = await StreamStateDoc.load(deps.store, backfillKey(decl.name, mode.since, mode.until ?? "now"), decl.name);
    if (!doc.exists || doc.state.completed)
      doc.state = { stream: decl.name, cursor: since, seen: {}, range: { since, until: to } };
    from = doc.state.cursor ?? since;
  }
  const cp = new Checkpointer(deps, doc);
  const result: StreamResult = { stream: decl.name, records: 0, deadLetters: 0 };
  deps.progress.streamStart(decl.name, from, to);

  const onPage = async (page: ScanPage) => {
    const receivedAt = new Date(clock.now());
    const envelopes: Envelope[] = [];
    const remember: [string, string, number][] = [];
    for (const row of page.rows) {
      if (lookback) {
        const created = toEpochSeconds(row.created_at);
        const updated = toEpochSeconds(row.updated_at);
        if (row.id !== undefined && created !== undefined && updated !== undefined && created >= horizon) {
          const day = utcDate(created * 1000);
          if (doc.state.seen[day]?.[String(row.id)] === updated) continue;
          remember.push([day, String(row.id), updated]);
        }
      }
      envelopes.push(toEnvelope(decl.entity, row, receivedAt));
    }
    if (envelopes.length > 0) await deps.sink.write(envelopes);
    // Only now are these records durable: remember them and let the bookmark pass them.
    for (const [day, id, updated] of remember) (doc.state.seen[day] ??= {})[id] = updated;
    const dead = envelopes.filter((e) => e.entity === "dead_letter").length;
    result.records += envelopes.length - dead;
    result.deadLetters += dead;
    deps.metrics.records.inc({ stream: decl.name }, envelopes.length - dead);
    if (dead > 0) deps.metrics.deadLetters.inc({ stream: decl.name }, dead);
    for (const row of page.rows) {
      const s = toEpochSeconds(row[decl.cursorField]);
      if (s !== undefined && (doc.state.earliest === undefined || s < doc.state.earliest)) doc.state.earliest = s;
    }
    doc.state.cursor = Math.max(doc.state.cursor ?? page.safe, page.safe);
    deps.progress.streamProgress(decl.name, result.records, page.safe);
    await cp.maybe();
  };

  try {
    if (from < to) {
      await scanWindow({
        client: deps.client,
        decl,
        from,
        to,
        ...(deps.signal ? { signal: deps.signal } : {}),
        onPage,
        onOverfull: (info) => {
          deps.metrics.overfullSeconds.inc({ stream: decl.name, complete: String(info.overlapped) });
          deps.logger.error(
            "one second holds more than 1,500 records: the list API pages through at most 1,500 per query",
            {
              stream: decl.name,
              second: new Date(info.second * 1000).toISOString(),
              ascending_read: info.ascending,
              descending_read: info.descending,
              fetched: info.fetched,
              complete: info.overlapped,
              action: info.overlapped
                ? "read the second in both sort orders; the two reads overlap, so every record was fetched if the API orders ties the same way both ways"
                : "read the second in both sort orders without overlap: records in the middle could not be listed; reconcile them by id",
            },
          );
        },
      });
    }
    if (lookback) {
      const keepFrom = utcDate(horizon * 1000);
      for (const day of Object.keys(doc.state.seen)) if (day < keepFrom) delete doc.state.seen[day];
    }
    if (mode.kind === "backfill") doc.state.completed = true;
    await cp.now();
  } catch (err) {
    await saveAfterFailure(deps, cp, err);
    throw err;
  } finally {
    deps.progress.streamDone(decl.name, result.records);
  }
  if (doc.state.cursor !== undefined) result.bookmark = new Date(doc.state.cursor * 1000).toISOString();
  return result;
}

function addDays(day: string, n: number): string {
  return utcDate(Date.parse(`${day}T00:00:00Z`) + n * DAY * 1000);
}

async function runDailyStream(deps: EngineDeps, decl: DailyStreamDecl, mode: RunMode): Promise<StreamResult> {
  const { clock, poll } = deps;
  const endSec = Math.floor(clock.now() / 1000) - poll.settleSeconds;
  const today = utcDate(endSec * 1000);
  // Days are asked for in the account's time zone (up to 12 h behind UTC), so a UTC day that just ended may still be
  // open there: keep re-reading the last two days whatever LOOKBACK_DAYS says (two, so a daily cron re-reads it too).
  const oldestRecomputed = addDays(today, -Math.max(2, poll.lookbackDays));
  let doc: StreamStateDoc;
  let first: string;
  let last = today;
  if (mode.kind === "sync") {
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
        return { stream: decl.name, records: 0, deadLetters: 0 };
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
  const cp = new Checkpointer(deps, doc);
  const result: StreamResult = { stream: decl.name, records: 0, deadLetters: 0 };
  deps.progress.streamStart(decl.name, dayStartSec(first), dayStartSec(last) + DAY);
  try {
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
      if (!(mode.kind === "sync" && doc.state.seen[day]?.[day] === hash)) {
        const env = toEnvelope(decl.entity, record, new Date(clock.now()), day);
        await deps.sink.write([env]);
        if (env.entity === "dead_letter") {
          result.deadLetters += 1;
          deps.metrics.deadLetters.inc({ stream: decl.name });
        } else {
          result.records += 1;
          deps.metrics.records.inc({ stream: decl.name });
        }
        doc.state.seen[day] = { [day]: hash };
      }
      // Today is never final; a closed day is final only once it leaves the lookback, but the cursor marks progress.
      if (day < today) doc.state.cursor = Math.max(doc.state.cursor ?? 0, dayStartSec(day) + DAY);
      deps.progress.streamProgress(decl.name, result.records, dayStartSec(day) + DAY);
      await cp.maybe();
    }
    if (mode.kind === "sync") {
      for (const day of Object.keys(doc.state.seen)) if (day < oldestRecomputed) delete doc.state.seen[day];
    } else {
      doc.state.completed = true;
    }
    await cp.now();
  } catch (err) {
    await saveAfterFailure(deps, cp, err);
    throw err;
  } finally {
    deps.progress.streamDone(decl.name, result.records);
  }
  return result;
}

async function runSnapshotStream(deps: EngineDeps, decl: SnapshotStreamDecl, mode: RunMode): Promise<StreamResult> {
  const result: StreamResult = { stream: decl.name, records: 0, deadLetters: 0 };
  const now = Math.floor(deps.clock.now() / 1000);
  deps.progress.streamStart(decl.name, now, now + 1);
  try {
    const doc =
      mode.kind === "sync" ? await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name) : undefined;
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
    if (envelopes.length > 0) await deps.sink.write(envelopes);
    const dead = envelopes.filter((e) => e.entity === "dead_letter").length;
    result.records = envelopes.length - dead;
    result.deadLetters = dead;
    deps.metrics.records.inc({ stream: decl.name }, result.records);
    if (dead > 0) deps.metrics.deadLetters.inc({ stream: decl.name }, dead);
    if (doc) {
      doc.state.seen = { all: next };
      doc.state.cursor = now;
      deps.lease?.assertHeld();
      await doc.save(receivedAt);
      deps.metrics.bookmark(decl.name, now);
    }
  } finally {
    deps.progress.streamDone(decl.name, result.records);
  }
  return result;
}
