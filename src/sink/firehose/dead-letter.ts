import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { fullJitterDelay } from "../../common/backoff.js";
import { sleepUnlessAborted, whenAborted } from "../../common/clock.js";
import type { Logger } from "../../log.js";
import { makeDeadLetter, type Source, serializeEnvelope } from "../../records/envelope.js";
import type { Spool, SpooledLine } from "../spool/spool.js";
import type { ProducerMetrics } from "./sink-metrics.js";

/** Fields of the original envelope line that help a dead letter find its way (best effort: the line may be broken). */
function originOf(line: Buffer): { source: Source; entity?: string; receivedAt?: Date } {
  try {
    const parsed = JSON.parse(line.toString("utf8")) as { source?: unknown; entity?: unknown; received_at?: unknown };
    const source: Source = parsed.source === "poll" ? "poll" : "webhook";
    const receivedAt = typeof parsed.received_at === "string" ? new Date(parsed.received_at) : undefined;
    return {
      source,
      ...(typeof parsed.entity === "string" ? { entity: parsed.entity } : {}),
      ...(receivedAt && !Number.isNaN(receivedAt.getTime()) ? { receivedAt } : {}),
    };
  } catch {
    return { source: "webhook" };
  }
}

/** Whether a spooled line is already a dead letter (a refused dead letter must not be wrapped again). */
export function isDeadLetterLine(line: Buffer): boolean {
  return line.subarray(0, 32).toString("latin1").startsWith('{"entity":"dead_letter"');
}

/** Wraps a line Firehose refused into a `dead_letter` envelope line holding its exact bytes and the reason. */
export function deadLetterLineFor(line: Buffer, reason: string): Buffer {
  const origin = originOf(line);
  const envelope = makeDeadLetter({
    reason,
    raw: line,
    source: origin.source,
    ...(origin.entity !== undefined ? { intendedEntity: origin.entity } : {}),
    contentType: "application/x-ndjson",
  });
  return Buffer.from(serializeEnvelope(envelope), "utf8");
}

export interface DeadLetterLocation {
  bucket: string;
  prefix: string;
}

/**
 * Writes records too large for Firehose straight to S3 under DEAD_LETTER_URL: `<prefix>/dt=YYYY-MM-DD/<sha256>.json`
 * (dt = the record's received_at date), the body being
 * one `dead_letter` envelope line (raw bytes + reason). The key is derived from the content, so a retried write after an
 * ambiguous failure overwrites the same object instead of duplicating it.
 */
export class S3DeadLetterWriter {
  constructor(
    private readonly s3: S3Client,
    readonly location: DeadLetterLocation,
  ) {}

  keyFor(line: Buffer): string {
    const origin = originOf(line);
    const dt = (origin.receivedAt ?? new Date()).toISOString().slice(0, 10);
    const hash = createHash("sha256").update(line).digest("hex");
    const prefix = this.location.prefix ? `${this.location.prefix}/` : "";
    return `${prefix}dt=${dt}/${hash}.json`;
  }

  async write(line: Buffer, reason: string): Promise<string> {
    const key = this.keyFor(line);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.location.bucket,
        Key: key,
        Body: deadLetterLineFor(line, reason),
        ContentType: "application/x-ndjson",
      }),
    );
    return key;
  }
}

/**
 * Records too large for any Firehose record (over 1,024,000 bytes): queued by reference (the payload stays on disk),
 * written to S3 one at a time by a background worker, and acknowledged in the spool only once S3 has them. Without
 * DEAD_LETTER_URL they are held in the spool and readiness says so.
 */
export class OversizeToS3 {
  private readonly queue: Array<{ line: SpooledLine; reason: string }> = [];
  private worker: Promise<void> | undefined;
  /** Cleared synchronously when the queue is seen empty, so a job queued right then still starts a worker. */
  private running = false;

  constructor(
    private readonly d: {
      spool: Spool;
      writer: S3DeadLetterWriter | undefined;
      logger: Logger;
      metrics: ProducerMetrics;
      retryCapMs: number;
      /** Aborted on shutdown: the job in progress stays unacknowledged in the spool. */
      abandon: AbortSignal;
      random: () => number;
    },
  ) {}

  /** Records waiting for S3. */
  get parked(): number {
    return this.queue.length;
  }

  /** Nothing left that could be written now (empty, or no DEAD_LETTER_URL to write to). */
  get idle(): boolean {
    return this.queue.length === 0 || !this.d.writer;
  }

  readinessReason(): string | undefined {
    if (this.queue.length === 0 || this.d.writer) return undefined;
    return `${this.queue.length} record(s) exceed Firehose's 1,024,000-byte record limit and are held in the spool: set DEAD_LETTER_URL=s3://bucket/prefix so they can be written to S3`;
  }

  add(line: SpooledLine, reason: string): void {
    const { payload: _dropped, ...ref } = line; // keep only the reference: the payload is re-read from disk when written
    this.queue.push({ line: ref, reason });
    if (!this.d.writer) {
      this.d.logger.error(
        "a record cannot go through Firehose and DEAD_LETTER_URL is not set; it is held in the spool",
        {
          reason,
          bytes: line.payloadBytes,
        },
      );
      return;
    }
    if (!this.running) {
      this.running = true;
      this.worker = this.drain(this.d.writer);
    }
  }

  /** Resolves once the worker has stopped (after `abandon`, or when the queue is empty). */
  async stopped(): Promise<void> {
    await this.worker;
  }

  private async drain(writer: S3DeadLetterWriter): Promise<void> {
    const { abandon } = this.d;
    let attempt = 0;
    for (;;) {
      if (this.queue.length === 0 || abandon.aborted) {
        this.running = false;
        return;
      }
      const job = this.queue[0]!;
      try {
        const payload = await this.d.spool.readPayload(job.line);
        const abandoned = whenAborted(abandon);
        const key = await Promise.race([
          writer.write(payload, job.reason),
          abandoned.promise.then(() => undefined),
        ]).finally(abandoned.detach);
        if (key === undefined) continue; // shutting down: the line stays unacknowledged in the spool
        this.queue.shift();
        this.d.spool.ack([job.line]);
        this.d.metrics.deadLetters.inc({ path: "s3" });
        attempt = 0;
        this.d.logger.warn("record too large for Firehose written to S3 as a dead letter", {
          bucket: writer.location.bucket,
          key,
          reason: job.reason,
        });
      } catch (err) {
        attempt++;
        this.d.logger.warn("dead-letter write to S3 failed; the record stays in the spool and is retried", {
          error: (err as Error).message,
          attempt,
        });
        await sleepUnlessAborted(fullJitterDelay(attempt, 500, this.d.retryCapMs, this.d.random), abandon);
      }
    }
  }
}
