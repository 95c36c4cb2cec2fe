import { createHash } from "node:crypto";
import type { FirehoseClient } from "@aws-sdk/client-firehose";
import { fullJitterDelay } from "../common/backoff.js";
import { sleepUnlessAborted } from "../common/clock.js";
import { DEFAULT_PACK_LIMITS, DEFAULT_TUNING, FIREHOSE_LIMITS } from "../sink/firehose/config.js";
import { FirehoseService } from "../sink/firehose/service.js";
import type { ReplayProgress } from "./progress.js";
import type { ReplayWindow } from "./replay.js";
import type { ReplayRecord } from "./replay-record.js";
import type { StoredObject } from "./sources.js";

/**
 * Re-drive of the records Firehose itself could not deliver. Firehose writes them under its error output prefix
 * (here `<error prefix>/firehose/<error type>/dt=YYYY-MM-DD/...`) as JSON lines, one per failed record:
 * `{"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData", ...}`,
 * `rawData` being the record's bytes in base64 (AWS docs: Amazon Data Firehose, "Handling data delivery failure",
 * "Troubleshoot dynamic partitioning errors"). The bytes are put back into the stream unchanged, so their envelopes
 * keep their dedup_keys. Each record is known by the hash of its bytes; the replay record remembers which were sent,
 * so a record that fails again is reported instead of being sent round in a loop.
 */
export interface FailedRecord {
  data: Buffer;
  errorCode: string;
  errorMessage: string;
  arrival: number | undefined;
  /** sha256 of the bytes (32 hex). */
  identity: string;
}

/** One line of a Firehose error object, or why it is not one. */
export function parseErrorLine(line: string): FailedRecord | string {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return "not JSON";
  }
  if (typeof doc.rawData !== "string") return "no rawData";
  const data = Buffer.from(doc.rawData, "base64");
  if (data.length === 0) return "empty rawData";
  const code = doc.errorCode ?? doc.ErrorCode ?? doc.lastErrorCode ?? "unknown";
  const message = doc.errorMessage ?? doc.ErrorMessage ?? doc.lastErrorMessage ?? "";
  const arrival = typeof doc.arrivalTimestamp === "number" ? doc.arrivalTimestamp : undefined;
  return {
    data,
    errorCode: String(code),
    errorMessage: String(message),
    arrival,
    identity: createHash("sha256").update(data).digest("hex").slice(0, 32),
  };
}

export interface RedriveDeps {
  objects: AsyncIterable<StoredObject>;
  /** Absent for a dry run. */
  firehose: FirehoseClient | undefined;
  streamName: string;
  record: ReplayRecord;
  report: (line: string) => void;
  progress?: ReplayProgress;
  replayedAt: Date;
  signal?: AbortSignal;
  /** Attempts per batch before giving up on the entries that still fail (they stay for the next run). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export interface RedriveSummary {
  objects: number;
  records: number;
  sent: number;
  alreadySent: number;
  /** Of those, found in a newer error object: re-driven once and failed again. */
  failedAgain: number;
  outOfRange: number;
  unsent: number;
  unreadable: number;
  byErrorCode: Map<string, number>;
}

export async function redriveFirehoseErrors(deps: RedriveDeps, window: ReplayWindow): Promise<RedriveSummary> {
  const s: RedriveSummary = {
    objects: 0,
    records: 0,
    sent: 0,
    alreadySent: 0,
    failedAgain: 0,
    outOfRange: 0,
    unsent: 0,
    unreadable: 0,
    byErrorCode: new Map(),
  };
  const dry = deps.firehose === undefined;
  const service = deps.firehose && new FirehoseService(deps.firehose, deps.streamName, DEFAULT_TUNING.requestTimeoutMs);
  const say = (line: string) => {
    deps.progress?.clear();
    deps.report(line);
  };
  const seen = new Set<string>();
  let batch: { r: FailedRecord; from: string }[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0 || !service) return;
    const sent = await putAll(service, deps, batch);
    s.sent += sent.length;
    s.unsent += batch.length - sent.length;
    await deps.record.add(sent.map(({ r, from }) => [r.identity, { at: deps.replayedAt.toISOString(), from }]));
    batch = [];
    batchBytes = 0;
  };

  for await (const obj of deps.objects) {
    if (deps.signal?.aborted) break;
    s.objects += 1;
    let here = 0;
    const codes = new Map<string, number>();
    for (const line of await obj.lines()) {
      const r = parseErrorLine(line);
      if (typeof r === "string") {
        s.unreadable += 1;
        continue;
      }
      s.records += 1;
      if (
        r.arrival !== undefined &&
        ((window.since && r.arrival < window.since.getTime()) || (window.until && r.arrival >= window.until.getTime()))
      ) {
        s.outOfRange += 1;
        continue;
      }
      const before = deps.record.get(r.identity);
      if (before || seen.has(r.identity)) {
        s.alreadySent += 1;
        // The same bytes in a newer error object: the re-driven record failed again; sending it round again won't help.
        if (before && before.from !== obj.location) {
          s.failedAgain += 1;
          say(
            `failed again  ${obj.location}: a record re-driven at ${before.at} failed again (${r.errorCode}); not sent`,
          );
        }
        continue;
      }
      seen.add(r.identity);
      here += 1;
      codes.set(r.errorCode, (codes.get(r.errorCode) ?? 0) + 1);
      s.byErrorCode.set(r.errorCode, (s.byErrorCode.get(r.errorCode) ?? 0) + 1);
      if (dry) continue; // a dry run only counts
      if (
        batch.length >= FIREHOSE_LIMITS.maxRecordsPerBatch ||
        batchBytes + r.data.length > DEFAULT_PACK_LIMITS.maxBatchBytes
      )
        await flush();
      batch.push({ r, from: obj.location });
      batchBytes += r.data.length;
    }
    if (here > 0) {
      const why = [...codes].map(([c, n]) => `${c} ×${n}`).join(", ");
      say(`${dry ? "would re-drive" : "re-driving   "} ${here} records from ${obj.location} (${why})`);
    }
    deps.progress?.update(
      `re-drive${dry ? " (dry run)" : ""}: ${s.objects} objects, ${s.records} failed records, ${s.sent} sent`,
    );
  }
  await flush();
  deps.progress?.clear();
  return s;
}

/**
 * PutRecordBatch through the sink's own FirehoseService (per-call timeout, per-entry results), retrying the entries
 * Firehose refused; returns the records it accepted. A call Firehose refuses outright (invalid, blocked) ends the
 * re-drive: the records stay in the error prefix for the next run.
 */
async function putAll<T extends { r: FailedRecord }>(
  service: FirehoseService,
  deps: RedriveDeps,
  records: T[],
): Promise<T[]> {
  const accepted: T[] = [];
  let todo = records;
  const maxAttempts = deps.maxAttempts ?? 8;
  for (let attempt = 0; todo.length > 0 && attempt < maxAttempts; attempt++) {
    if (attempt > 0) {
      const slept = await sleepUnlessAborted(
        fullJitterDelay(attempt, deps.backoffBaseMs ?? 200, deps.backoffCapMs ?? 10_000),
        deps.signal,
      );
      if (!slept) break;
    }
    const out = await service.put(todo.map(({ r }) => ({ lines: [], bytes: r.data.length, data: r.data })));
    if (out.kind === "retryable") continue;
    if (out.kind !== "replied") throw new Error(`Firehose refused the re-drive (${out.code}): ${out.message}`);
    const failed: T[] = [];
    for (const [i, r] of todo.entries()) (out.entries[i]?.ok ? accepted : failed).push(r);
    todo = failed;
  }
  return accepted;
}

export function redriveSummaryLines(s: RedriveSummary, dry: boolean): string[] {
  const lines = [
    `${s.records} failed records in ${s.objects} error objects: ${dry ? `${s.records - s.alreadySent - s.outOfRange} would be re-driven` : `${s.sent} re-driven`}, ${s.alreadySent} re-driven before (${s.failedAgain} of them failed again), ${s.outOfRange} outside --since/--until${s.unsent ? `, ${s.unsent} NOT accepted by Firehose (run again)` : ""}`,
  ];
  if (s.unreadable > 0) lines.push(`${s.unreadable} lines were not Firehose error records and were skipped`);
  for (const [code, n] of s.byErrorCode) lines.push(`  ${code}: ${n}`);
  return lines;
}
