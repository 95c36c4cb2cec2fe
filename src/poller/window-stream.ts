import type { Envelope } from "../records/envelope.js";
import { toEpochSeconds } from "../records/time.js";
import { backfillKey, bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import type { PollerMetrics } from "./poller-metrics.js";
import { type EngineDeps, type RunMode, type StreamResult, StreamRun, toEnvelope } from "./stream-run.js";
import type { WindowStreamDecl } from "./streams.js";
import { type RecordVersion, VersionTracker } from "./version-tracker.js";
import { type OverfullSecond, type ScanPage, scanWindow } from "./window-scan.js";

/**
 * A first sync without SYNC_START_DATE reads from the epoch: responses and declines can be created with any backdated
 * created_at (imports of older surveys), and the empty span before the first record costs one request.
 */
export const HISTORY_START = 0;
export const DAY = 86_400;

export const dayStartSec = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** Where a stream's history starts: SYNC_START_DATE, or the epoch. */
export const historyStart = (deps: EngineDeps) =>
  deps.poll.startDate ? dayStartSec(deps.poll.startDate) : HISTORY_START;

/** The upper bound of a read: now minus the settle lag, so records still being written are left to the next run. */
export const readEnd = (deps: EngineDeps) => Math.floor(deps.clock.now() / 1000) - deps.poll.settleSeconds;

/**
 * `sync` and `backfill` of a window stream. Sync reads from the bookmark (or, for created-filtered streams, from the
 * start of the lookback, to catch recent edits and backdated records) and writes only records whose version differs
 * from the one in the version map; backfill writes every record of its range.
 */
export async function runWindowStream(
  deps: EngineDeps,
  decl: WindowStreamDecl,
  mode: Exclude<RunMode, { kind: "reconcile" }>,
): Promise<StreamResult> {
  const end = readEnd(deps);
  const start = historyStart(deps);
  let doc: StreamStateDoc;
  let from: number;
  let to = end;
  if (mode.kind === "sync") {
    doc = await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name);
    const cursor = doc.state.cursor ?? start;
    const lookback = decl.lookback && deps.poll.lookbackDays > 0;
    from = lookback ? Math.max(start, Math.min(cursor, end - deps.poll.lookbackDays * DAY)) : cursor;
    // Versions live in the version map now; the per-day map older releases kept here is no longer read.
    doc.state.seen = {};
  } else {
    const since = dayStartSec(mode.since);
    to = Math.min(end, mode.until ? dayStartSec(mode.until) : end);
    doc = await StreamStateDoc.load(deps.store, backfillKey(decl.name, mode.since, mode.until ?? "now"), decl.name);
    if (!doc.exists || doc.state.completed)
      doc.state = { stream: decl.name, cursor: since, seen: {}, range: { since, until: to } };
    from = doc.state.cursor ?? since;
  }
  // Backfill writes every record it reads and leaves the version map to sync and the reconciliation.
  const tracker = mode.kind === "sync" ? new VersionTracker(deps.store, decl, doc) : undefined;
  const run = new StreamRun(deps, decl.name, doc);
  if (tracker) run.beforeSave = () => tracker.flush(new Date(deps.clock.now()));

  const onPage = async (page: ScanPage) => {
    const receivedAt = new Date(deps.clock.now());
    const envelopes: Envelope[] = [];
    const delivered: RecordVersion[] = [];
    for (const row of page.rows) {
      const known = tracker?.identify(row);
      if (known && tracker && (await tracker.isDelivered(known))) continue;
      envelopes.push(toEnvelope(decl.entity, row, receivedAt));
      if (known) delivered.push(known);
    }
    await run.emit(envelopes);
    // Only now are these records durable: remember them and let the bookmark pass them.
    for (const r of delivered) await tracker?.remember(r);
    noteEarliest(doc, decl, page.rows);
    doc.state.cursor = Math.max(doc.state.cursor ?? page.safe, page.safe);
    deps.progress.streamProgress(decl.name, run.result.records, page.safe);
    await run.checkpoint();
  };

  const result = await run.run({ from, to }, async () => {
    if (from < to) await scanWindow(scanOptions(deps, decl, from, to, onPage));
    if (mode.kind === "backfill") doc.state.completed = true;
  });
  if (doc.state.cursor !== undefined) result.bookmark = new Date(doc.state.cursor * 1000).toISOString();
  return result;
}

/** The earliest cursor value ever read (responses: where the account's history starts, for nps_summary). */
export function noteEarliest(doc: StreamStateDoc, decl: WindowStreamDecl, rows: Record<string, unknown>[]): void {
  for (const row of rows) {
    const s = toEpochSeconds(row[decl.cursorField]);
    if (s !== undefined && (doc.state.earliest === undefined || s < doc.state.earliest)) doc.state.earliest = s;
  }
}

export function scanOptions(
  deps: EngineDeps,
  decl: WindowStreamDecl,
  from: number,
  to: number,
  onPage: (page: ScanPage) => Promise<void>,
  onOverfull?: (info: OverfullSecond) => void,
): Parameters<typeof scanWindow>[0] {
  return {
    client: deps.client,
    decl,
    from,
    to,
    ...(deps.signal ? { signal: deps.signal } : {}),
    onPage,
    onOverfull: (info) => {
      reportOverfull(deps.metrics, deps, decl.name, info);
      onOverfull?.(info);
    },
  };
}

function reportOverfull(metrics: PollerMetrics, deps: EngineDeps, stream: string, info: OverfullSecond): void {
  metrics.overfullSeconds.inc({ stream, complete: String(info.overlapped) });
  deps.logger.error("one second holds more than 1,500 records: the list API pages through at most 1,500 per query", {
    stream,
    second: new Date(info.second * 1000).toISOString(),
    ascending_read: info.ascending,
    descending_read: info.descending,
    fetched: info.fetched,
    complete: info.overlapped,
    action: info.overlapped
      ? "read the second in both sort orders; the two reads overlap, so every record was fetched if the API orders ties the same way both ways"
      : "read the second in both sort orders without overlap: records in the middle could not be listed; reconcile them by id",
  });
}
