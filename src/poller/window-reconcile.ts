import { makeTombstone } from "../records/envelope.js";
import { toEpochSeconds } from "../records/time.js";
import { bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import { monthEnd, monthOf, monthStart } from "../state/version-map.js";
import { type EngineDeps, type StreamResult, StreamRun, toEnvelope } from "./stream-run.js";
import type { WindowStreamDecl } from "./streams.js";
import { type RecordVersion, VersionTracker } from "./version-tracker.js";
import type { ScanPage } from "./window-scan.js";
import { scanWindow } from "./window-scan.js";
import { HISTORY_START, historyStart, noteEarliest, readEnd, scanOptions } from "./window-stream.js";

/**
 * The full reconciliation of a window stream (`sync --once --full`, RECONCILE_CRON).
 *
 * Reads the stream's whole history in one ascending pass over `created` (end users too: their created_at never
 * changes, so no record moves while it is read), compares each record with the version map and writes those that
 * changed or were never delivered. The pass settles one created-month at a time: once every record created in a
 * month has been read (the scan's safe point passed the month's end), the month's shard records that were not listed
 * are gone from Wootric, and each gets one tombstone. A month whose read failed, was cut short or could not list a
 * crowded second completely gets none. Progress (`reconcile.through`, a month start) is saved with the shards, so an
 * interrupted reconciliation resumes at its first unsettled month.
 *
 * Cost: one continuous scan per stream, about ceil(records / 50) requests (a full page re-reads only the records of
 * its last second), whatever the number of months.
 */
export async function reconcileWindowStream(deps: EngineDeps, decl: WindowStreamDecl): Promise<StreamResult> {
  const end = readEnd(deps);
  const emitFrom = historyStart(deps);
  const byCreated: WindowStreamDecl =
    decl.filter === "created" ? decl : { ...decl, filter: "created", cursorField: "created_at", sortKey: "created_at" };
  // SYNC_START_DATE bounds created for responses and declines but updated for end users, whose created_at can be
  // anything: read those from the beginning and emit only the versions updated since the start date.
  const scanStart = decl.filter === "created" ? monthStart(monthOf(emitFrom)) : HISTORY_START;

  const doc = await StreamStateDoc.load(deps.store, bookmarkKey(decl.name), decl.name);
  const progress = (doc.state.reconcile ??= {
    through: scanStart,
    first_end: end,
    started_at: new Date(deps.clock.now()).toISOString(),
  });
  if (progress.through > scanStart) {
    deps.logger.info("resuming an interrupted reconciliation", {
      stream: decl.name,
      from: new Date(progress.through * 1000).toISOString(),
      started_at: progress.started_at,
    });
  }
  // Never settle months this read does not cover (SYNC_START_DATE moved later since the progress was saved).
  progress.through = Math.max(progress.through, scanStart);
  const from = progress.through;
  const tracker = new VersionTracker(deps.store, decl, doc);
  const run = new StreamRun(deps, decl.name, doc);
  run.beforeSave = async () => {
    await tracker.flush(new Date(deps.clock.now()));
    tracker.shards.evictBefore(monthOf(progress.through));
  };

  /** Ids listed by this read, per month. */
  const listed = new Map<string, Set<number>>();
  /** Months this read could not list completely (a second holding more than 3,000 records). */
  const incomplete = new Set<string>();

  /**
   * Settles every month that starts before `until` (a month start) and was not settled yet. When tombstones went
   * out, the shards and the progress are written at once: only a crash in between could send them a second time.
   */
  const settleBefore = async (until: number) => {
    const months = new Set([...tracker.months(), ...listed.keys()]);
    const due = [...months].filter((m) => monthStart(m) >= progress.through && monthStart(m) < until).sort();
    let tombstones = 0;
    for (const month of due) tombstones += await settleMonth(month);
    progress.through = Math.max(progress.through, until);
    if (tombstones > 0) await run.checkpoint(true);
  };

  const settleMonth = async (month: string): Promise<number> => {
    const seen = listed.get(month) ?? new Set<number>();
    listed.delete(month);
    if (incomplete.has(month)) {
      deps.logger.warn("no tombstones for a month whose read was incomplete", { stream: decl.name, month });
      return 0;
    }
    const shard = await tracker.shard(month);
    const gone = [...shard.entries].filter(([id]) => !seen.has(id));
    if (gone.length === 0) return 0;
    const seenAt = new Date(deps.clock.now());
    await run.emit(
      gone.map(([id, e]) =>
        makeTombstone(
          decl.entity,
          id,
          decl.parentField && e.parent > 0 ? { [decl.parentField]: e.parent } : {},
          seenAt,
        ),
      ),
    );
    for (const [id] of gone) shard.entries.delete(id);
    shard.dirty = true;
    return gone.length;
  };

  const onPage = async (page: ScanPage) => {
    const receivedAt = new Date(deps.clock.now());
    const envelopes = [];
    const delivered: RecordVersion[] = [];
    for (const row of page.rows) {
      const known = tracker.identify(row);
      if (known) {
        let ids = listed.get(known.month);
        if (!ids) listed.set(known.month, (ids = new Set()));
        ids.add(known.id);
      }
      const cursor = toEpochSeconds(row[decl.cursorField]);
      if (cursor !== undefined && cursor < emitFrom) continue;
      if (known && (await tracker.isDelivered(known))) continue;
      envelopes.push(toEnvelope(decl.entity, row, receivedAt));
      if (known) delivered.push(known);
    }
    await run.emit(envelopes);
    for (const r of delivered) await tracker.remember(r);
    noteEarliest(doc, decl, page.rows);
    // Every record created before page.safe has been read: the months before its month are complete.
    await settleBefore(monthStart(monthOf(page.safe)));
    deps.progress.streamProgress(decl.name, run.result.records, page.safe);
    await run.checkpoint();
  };

  const result = await run.run({ from, to: end }, async () => {
    if (from < end) {
      await scanWindow(
        scanOptions(deps, byCreated, from, end, onPage, (info) => {
          if (!info.overlapped) incomplete.add(monthOf(info.second));
        }),
      );
    }
    // The read reached `end`: the month holding it is complete too (nothing delivered was created after `end`).
    await settleBefore(monthEnd(monthOf(Math.max(from, end))));
    doc.state.cursor = Math.max(doc.state.cursor ?? progress.first_end, progress.first_end);
    delete doc.state.reconcile;
    doc.state.reconciled_at = new Date(deps.clock.now()).toISOString();
  });
  if (doc.state.cursor !== undefined) result.bookmark = new Date(doc.state.cursor * 1000).toISOString();
  return result;
}
