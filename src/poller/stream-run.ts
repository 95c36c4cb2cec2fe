import type { Clock } from "../common/clock.js";
import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { RecordEntity } from "../records/entities.js";
import { type Envelope, makeDeadLetter, makeEnvelope, RecordValidationError } from "../records/envelope.js";
import type { Sink } from "../sink/sink.js";
import type { Lease } from "../state/lease.js";
import { StateError, type StateStore } from "../state/store.js";
import type { StreamStateDoc } from "../state/stream-state.js";
import type { WootricClient } from "../wootric/client.js";
import type { PollerMetrics } from "./poller-metrics.js";
import type { ProgressSink } from "./progress.js";

/**
 * `sync`: incremental from each stream's bookmark (plus the lookback), moving the bookmarks.
 * `reconcile` (`sync --once --full`): every window stream's whole history and every snapshot, compared with the versions
 * delivered before; emits what changed or was never delivered and a tombstone for what disappeared.
 * `backfill`: re-reads [since, until) and writes every record in it; its progress lives under backfill/ and the
 * normal bookmarks are left alone (see README "Backfill").
 */
export type RunMode = { kind: "sync" } | { kind: "reconcile" } | { kind: "backfill"; since: string; until?: string };

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
  /** Minimum clock time between state writes during a stream (the final write always happens). */
  checkpointEveryMs?: number;
}

export interface StreamResult {
  stream: string;
  records: number;
  deadLetters: number;
  tombstones: number;
  /** The bookmark after the run (ISO), for window streams. */
  bookmark?: string;
}

/** Validated envelope, or a dead letter holding the raw record and why: a polled record is never dropped. */
export function toEnvelope(entity: RecordEntity, raw: unknown, receivedAt: Date, id?: string): Envelope {
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

/**
 * What every stream kind shares: writing envelopes and counting them (records, dead letters, tombstones), progress,
 * throttled state writes refused once the lease is gone, and saving what is durable when the stream fails part-way.
 */
export class StreamRun {
  readonly result: StreamResult;
  /** Runs before each write of the stream document (window streams write their version shards first). */
  beforeSave: (() => Promise<void>) | undefined;
  private lastSave: number;

  constructor(
    readonly deps: EngineDeps,
    readonly stream: string,
    /** The stream's state document; none for runs that keep no state (a snapshot inside a backfill). */
    readonly doc: StreamStateDoc | undefined,
  ) {
    this.result = { stream, records: 0, deadLetters: 0, tombstones: 0 };
    this.lastSave = deps.clock.now();
  }

  /** Makes the envelopes durable in the sink, then counts them. */
  async emit(envelopes: readonly Envelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    await this.deps.sink.write(envelopes);
    let dead = 0;
    let tombstones = 0;
    for (const e of envelopes) {
      if (e.entity === "dead_letter") dead += 1;
      else if (e.deleted) tombstones += 1;
    }
    const records = envelopes.length - dead - tombstones;
    this.result.records += records;
    this.result.deadLetters += dead;
    this.result.tombstones += tombstones;
    const labels = { stream: this.stream };
    if (records > 0) this.deps.metrics.records.inc(labels, records);
    if (dead > 0) this.deps.metrics.deadLetters.inc(labels, dead);
    if (tombstones > 0) this.deps.metrics.tombstones.inc(labels, tombstones);
  }

  /** Writes the state when checkpointEveryMs has passed since the last write, or at once when forced. */
  async checkpoint(force = false): Promise<void> {
    const { clock } = this.deps;
    if (!this.doc) return;
    if (!force && clock.now() - this.lastSave < (this.deps.checkpointEveryMs ?? 5_000)) return;
    this.deps.lease?.assertHeld();
    await this.beforeSave?.();
    await this.doc.save(new Date(clock.now()));
    this.lastSave = clock.now();
    if (this.doc.state.cursor !== undefined && this.doc.key.startsWith("bookmarks/")) {
      this.deps.metrics.bookmark(this.stream, this.doc.state.cursor);
    }
  }

  /**
   * Runs the stream's body between progress start and done, then writes the final state. On failure, saves what is
   * durable so far (unless the state may no longer be written) and rethrows; a failed stream never reports "done".
   */
  async run(span: { from: number; to: number }, body: () => Promise<void>): Promise<StreamResult> {
    this.deps.progress.streamStart(this.stream, span.from, span.to);
    try {
      await body();
      await this.checkpoint(true);
    } catch (err) {
      this.deps.progress.streamFailed(this.stream);
      await this.saveAfterFailure(err);
      throw err;
    }
    this.deps.progress.streamDone(this.stream, this.result.records);
    return this.result;
  }

  private async saveAfterFailure(err: unknown): Promise<void> {
    if (err instanceof StateError) return;
    try {
      await this.checkpoint(true);
    } catch (saveErr) {
      this.deps.logger.warn(
        "could not save the stream state after a failure; the next run re-reads from the previous one",
        {
          stream: this.stream,
          error: (saveErr as Error).message,
        },
      );
    }
  }
}
