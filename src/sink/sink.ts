import type { Readiness } from "../ops/readiness.js";
import type { Envelope } from "../records/envelope.js";

/** Thrown by Sink.write when records cannot be made durable now (spool full, disk error, sink stopped). */
export class SinkUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SinkUnavailableError";
  }
}

/**
 * Thrown by Sink.write when one of its envelopes cannot be serialised at all: a fault of that record, not of the sink,
 * so it fails only its own write. The caller keeps the raw bytes as a dead letter instead.
 */
export class RecordNotSerialisableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecordNotSerialisableError";
  }
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
