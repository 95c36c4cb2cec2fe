import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { makeDeadLetter, type Source, serializeEnvelope } from "../../records/envelope.js";

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
