import { createHash } from "node:crypto";
import { ENTITY_DEFS, type Entity, type RecordEntity } from "./entities.js";
import { toEpochSeconds, toIsoUtc } from "./time.js";

export type Source = "webhook" | "poll";

/** Fields of a webhook's wrapper that travel with its record. */
export interface WebhookContext {
  event_name?: string;
  timestamp?: string | number | null;
  account_token?: string;
  survey_mode?: string;
}

/** One line in S3. Field order here is the order in the JSON line. */
export interface Envelope extends WebhookContext {
  entity: Entity;
  id: number | string;
  source: Source;
  dedup_key: string;
  /** Set (true) only on a tombstone: the record was deleted in Wootric; its dedup_key is `<entity>:<id>:deleted`. */
  deleted?: boolean;
  received_at: string;
  /** The record's own created_at / updated_at, normalised to ISO-8601 UTC (null when it has none). */
  created_at: string | null;
  updated_at: string | null;
  data: Record<string, unknown>;
}

export class RecordValidationError extends Error {
  constructor(
    readonly entity: Entity,
    readonly reason: string,
  ) {
    super(`${entity} record is invalid: ${reason}`);
    this.name = "RecordValidationError";
  }
}

/** JSON with object keys sorted at every level, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function contentHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 32);
}

/**
 * Equal for the same version of the same record whichever path brought it:
 * entity + id + updated_at as epoch seconds (webhooks carry milliseconds, the API whole seconds),
 * or a hash of the content where the record has no updated_at.
 */
export function dedupKey(entity: Entity, id: number | string, data: Record<string, unknown>): string {
  const updated = toEpochSeconds(data.updated_at);
  return updated === undefined ? `${entity}:${id}:h${contentHash(data)}` : `${entity}:${id}:${updated}`;
}

export interface MakeEnvelopeOptions {
  source: Source;
  receivedAt?: Date;
  /** Required for entities whose id is not in the record (nps_summary: its date). */
  id?: number | string;
  webhook?: WebhookContext;
}

/** Validates a raw Wootric record against its entity schema and wraps it. Throws RecordValidationError. */
export function makeEnvelope(entity: RecordEntity, raw: unknown, opts: MakeEnvelopeOptions): Envelope {
  const def = ENTITY_DEFS[entity];
  const parsed = def.schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`)
      .join("; ");
    throw new RecordValidationError(entity, first);
  }
  const data = parsed.data;
  const id = opts.id ?? def.idOf(data);
  if (id === undefined) throw new RecordValidationError(entity, "record has no id");
  const envelope: Envelope = {
    entity,
    id,
    source: opts.source,
    dedup_key: dedupKey(entity, id, data),
    received_at: (opts.receivedAt ?? new Date()).toISOString(),
    created_at: toIsoUtc(data.created_at) ?? null,
    updated_at: toIsoUtc(data.updated_at) ?? null,
    data,
  };
  if (opts.webhook) {
    const { event_name, timestamp, account_token, survey_mode } = opts.webhook;
    if (event_name !== undefined) envelope.event_name = event_name;
    if (timestamp !== undefined) envelope.timestamp = timestamp;
    if (account_token !== undefined) envelope.account_token = account_token;
    if (survey_mode !== undefined) envelope.survey_mode = survey_mode;
  }
  return envelope;
}

export interface DeadLetterInput {
  reason: string;
  raw: Buffer | string;
  source: Source;
  /** What the bytes were meant to be, when known (e.g. "response"). */
  intendedEntity?: string;
  contentType?: string;
  receivedAt?: Date;
}

/** A record we could not parse or validate: its raw bytes and the reason, so nothing is ever dropped. */
export function makeDeadLetter(input: DeadLetterInput): Envelope {
  const bytes = typeof input.raw === "string" ? Buffer.from(input.raw, "utf8") : input.raw;
  const utf8 = bytes.toString("utf8");
  const isUtf8 = Buffer.from(utf8, "utf8").equals(bytes);
  const hash = createHash("sha256").update(bytes).digest("hex");
  const data: Record<string, unknown> = {
    reason: input.reason,
    raw: isUtf8 ? utf8 : bytes.toString("base64"),
    raw_encoding: isUtf8 ? "utf8" : "base64",
    raw_sha256: hash,
    raw_bytes: bytes.length,
  };
  if (input.intendedEntity !== undefined) data.intended_entity = input.intendedEntity;
  if (input.contentType !== undefined) data.content_type = input.contentType;
  return {
    entity: "dead_letter",
    id: hash.slice(0, 32),
    source: input.source,
    dedup_key: `dead_letter:${hash.slice(0, 32)}`,
    received_at: (input.receivedAt ?? new Date()).toISOString(),
    created_at: null,
    updated_at: null,
    data,
  };
}

/** One newline-terminated JSON line: the unit that lands in S3. */
export function serializeEnvelope(envelope: Envelope): string {
  return `${JSON.stringify(envelope)}\n`;
}

/** The S3 / file partition of an envelope: `entity=<entity>/dt=<YYYY-MM-DD of received_at>`. */
export function partitionOf(envelope: Pick<Envelope, "entity" | "received_at">): { entity: string; dt: string } {
  return { entity: envelope.entity, dt: envelope.received_at.slice(0, 10) };
}
