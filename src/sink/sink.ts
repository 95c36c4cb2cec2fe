import type { Envelope } from "../records/envelope.js";

/** Thrown by Sink.write when records cannot be made durable now (spool full, disk error, sink stopped). */
export class SinkUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SinkUnavailableError";
  }
}

export interface Readiness {
  ready: boolean;
  reason?: string;
  /** Figures shown with /readyz whether ready or not (e.g. the spool's backlog and its drain estimate). */
  detail?: Record<string, number | string>;
}

/**
 * Where envelopes go. `write` resolves only once every envelope is durable: fsynced to local disk
 * (file sink, spool) or acknowledged by Firehose with a RecordId. It rejects with SinkUnavailableError otherwise,
 * and the caller must not acknowledge the records to their sender.
 */
export interface Sink {
  readonly kind: string;
  write(envelopes: readonly Envelope[]): Promise<void>;
  readiness(): Readiness;
  /** Stop accepting, flush what can be flushed within the deadline, release files. Idempotent. */
  close(deadlineMs: number): Promise<void>;
}
