import type { Envelope } from "../records/envelope.js";
import type { Sink } from "../sink/sink.js";
import type { ReplayProgress } from "./progress.js";
import { deadLetterIdentity, recoverDeadLetter } from "./recover.js";
import type { ReplayEntry, ReplayRecord } from "./replay-record.js";
import type { StoredObject } from "./sources.js";

export interface ReplayWindow {
  /** Dead letters received at or after this instant. */
  since?: Date;
  /** Dead letters received before this instant. */
  until?: Date;
}

export interface ReplayDeps {
  objects: AsyncIterable<StoredObject>;
  /** Where recovered records go; absent for a dry run. */
  sink: Sink | undefined;
  record: ReplayRecord;
  /** One report line (stdout). */
  report: (line: string) => void;
  progress?: ReplayProgress;
  replayedAt: Date;
  maxLineBytes?: number;
  /** Stops reading at the next dead letter; what was recovered so far is written and recorded. */
  signal?: AbortSignal;
  /** Dead letters recovered per sink write and replay-record update. */
  batchSize?: number;
}

export interface ReplaySummary {
  objects: number;
  deadLetters: number;
  outOfRange: number;
  alreadyRecovered: number;
  /** The same dead letter seen again in this run (retried webhooks, the same file in two places). */
  repeats: number;
  recovered: number;
  records: number;
  stillFailing: number;
  /** Lines that are not envelopes at all. */
  unreadable: number;
  failureReasons: Map<string, number>;
}

/**
 * Re-runs dead letters through today's parser. A dry run only reports; otherwise recovered records are written to the
 * sink and, once durable, their dead letters are entered in the replay record so no later run recovers them again.
 */
export async function replayDeadLetters(deps: ReplayDeps, window: ReplayWindow): Promise<ReplaySummary> {
  const s: ReplaySummary = {
    objects: 0,
    deadLetters: 0,
    outOfRange: 0,
    alreadyRecovered: 0,
    repeats: 0,
    recovered: 0,
    records: 0,
    stillFailing: 0,
    unreadable: 0,
    failureReasons: new Map(),
  };
  const dry = deps.sink === undefined;
  const seen = new Set<string>();
  let pending: Envelope[] = [];
  let entries: [string, ReplayEntry][] = [];
  const at = deps.replayedAt.toISOString();
  const say = (line: string) => {
    deps.progress?.clear();
    deps.report(line);
  };
  const flush = async () => {
    if (!deps.sink || entries.length === 0) return;
    await deps.sink.write(pending);
    await deps.record.add(entries);
    pending = [];
    entries = [];
  };

  for await (const obj of deps.objects) {
    if (deps.signal?.aborted) break;
    s.objects += 1;
    for (const line of await obj.lines()) {
      if (deps.signal?.aborted) break;
      let dl: Envelope;
      try {
        dl = JSON.parse(line) as Envelope;
      } catch {
        s.unreadable += 1;
        continue;
      }
      if (dl?.entity !== "dead_letter") continue;
      s.deadLetters += 1;
      const receivedAt = Date.parse(dl.received_at);
      if (
        (window.since && !(receivedAt >= window.since.getTime())) ||
        (window.until && !(receivedAt < window.until.getTime()))
      ) {
        s.outOfRange += 1;
        continue;
      }
      const id = deadLetterIdentity(dl);
      if (deps.record.has(id)) {
        s.alreadyRecovered += 1;
        continue;
      }
      if (seen.has(id)) {
        s.repeats += 1;
        continue;
      }
      seen.add(id);
      const result = recoverDeadLetter(dl, {
        replayedAt: deps.replayedAt,
        ...(deps.maxLineBytes !== undefined ? { maxLineBytes: deps.maxLineBytes } : {}),
      });
      if (!result.ok) {
        s.stillFailing += 1;
        s.failureReasons.set(result.reason, (s.failureReasons.get(result.reason) ?? 0) + 1);
        say(`still fails   ${dl.id} (received ${dl.received_at}, ${obj.location}): ${result.reason}`);
        continue;
      }
      s.recovered += 1;
      s.records += result.envelopes.length;
      const keys = result.envelopes.map((e) => e.dedup_key);
      say(`${dry ? "would recover" : "recovered    "} ${dl.id} (received ${dl.received_at}): ${keys.join(", ")}`);
      if (!dry) {
        pending.push(...result.envelopes);
        entries.push([id, { at, keys }]);
        if (entries.length >= (deps.batchSize ?? 100)) await flush();
      }
      deps.progress?.update(progressLine(s, dry));
    }
    deps.progress?.update(progressLine(s, dry));
  }
  await flush();
  deps.progress?.clear();
  return s;
}

function progressLine(s: ReplaySummary, dry: boolean): string {
  return `replay${dry ? " (dry run)" : ""}: ${s.objects} objects, ${s.deadLetters} dead letters, ${s.recovered} ${dry ? "recoverable" : "recovered"}, ${s.stillFailing} still failing`;
}

/** The closing lines of the report. */
export function summaryLines(s: ReplaySummary, dry: boolean): string[] {
  const lines = [
    `${s.deadLetters} dead letters in ${s.objects} objects: ${s.recovered} ${dry ? "would be recovered" : "recovered"} (${s.records} records), ${s.stillFailing} still failing, ${s.alreadyRecovered} recovered by an earlier replay, ${s.repeats} repeats, ${s.outOfRange} outside --since/--until`,
  ];
  if (s.unreadable > 0) lines.push(`${s.unreadable} lines were not JSON envelopes and were skipped`);
  for (const [reason, n] of [...s.failureReasons].sort((a, b) => b[1] - a[1]))
    lines.push(`  still failing (${n}): ${reason}`);
  return lines;
}
