import { createHash } from "node:crypto";
import { ENTITY_DEFS, type Entity, type RecordEntity } from "./entities.js";
import { timePrecision, toEpochSeconds, toIsoUtc } from "./time.js";
import { wellFormedDeep, wellFormedString } from "./well-formed.js";

export type Source = "webhook" | "poll";

/** How a record arrived: the REST API (the poller), or a webhook body in JSON or form-urlencoded format. */
export type RecordFormat = "api" | "json" | "form";

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
  /** api, json or form: how the record arrived (absent on dead letters, whose bytes may be neither). */
  format?: RecordFormat;
  dedup_key: string;
  /** The sort key of versions: the greatest `version` of an entity + id is its latest version (see versionKey). */
  version?: string;
  received_at: string;
  /** Set on records recovered from a dead letter by `wootric-firehose replay`: when (ISO-8601 UTC). */
  replayed_at?: string;
  /** The record's own created_at / updated_at, normalised to ISO-8601 UTC (null when it has none). */
  created_at: string | null;
  updated_at: string | null;
  /** Present (true) only on a tombstone: the record is gone from Wootric. */
  deleted?: true;
  data: Record<string, unknown>;
  /** Every top-level key of the webhook body besides the record itself, as sent (form bodies: strings). */
  webhook?: Record<string, unknown>;
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
function canonicalJson(value: unknown): string {
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
function dedupKey(entity: Entity, id: number | string, data: Record<string, unknown>): string {
  const updated = toEpochSeconds(data.updated_at);
  return updated === undefined ? `${entity}:${id}:h${contentHash(data)}` : `${entity}:${id}:${updated}`;
}

export interface MakeEnvelopeOptions {
  source: Source;
  receivedAt?: Date;
  /** Required for entities whose id is not in the record (nps_summary: its date). */
  id?: number | string;
  webhook?: WebhookContext;
  /** Defaults to api for polled records; webhooks say json or form. */
  format?: RecordFormat;
  /** Every top-level key of the webhook body besides the record. */
  webhookKeys?: Record<string, unknown>;
}

/** Tie-break between paths for one version: the API's full record first, then JSON, then form (strings only). */
export const FORMAT_RANK: Record<RecordFormat, number> = { api: 3, json: 2, form: 1 };

const NO_UPDATED_AT = "0000-00-00T00:00:00.000Z";

/**
 * The version order, as one string that sorts like the versions (greatest = latest):
 *   1. updated_at to the millisecond. The REST API and form webhooks name only the second; such a value counts as
 *      the last millisecond of its second (.999), because the API answers the state at read time, which is at least
 *      as new as any change made within that second before the read. JSON webhooks carry real milliseconds.
 *   2. received_at (for records without updated_at, the only key).
 *   3. the path: api (3) before json (2) before form (1).
 * Format: `<updated_at ISO UTC>|<received_at ISO UTC>|<rank>`, e.g. `2024-03-05T18:15:31.999Z|2024-03-05T18:20:00.000Z|3`.
 */
export function versionKey(updatedAt: unknown, receivedAt: string, format: RecordFormat | undefined): string {
  const ms = parseMsForVersion(updatedAt);
  const updated = ms === undefined ? NO_UPDATED_AT : new Date(ms).toISOString();
  return `${updated}|${receivedAt}|${format === undefined ? 0 : FORMAT_RANK[format]}`;
}

function parseMsForVersion(value: unknown): number | undefined {
  const iso = toIsoUtc(value);
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return timePrecision(value) === "s" ? ms - (((ms % 1000) + 1000) % 1000) + 999 : ms;
}

/**
 * Deepest nesting of arrays and objects a record may have. Validation, the canonical JSON of the dedup hash and
 * serialisation all recurse; a bound keeps them far from the stack limit. Wootric records nest 3 levels.
 */
export const MAX_RECORD_DEPTH = 64;

/** Whether `value` nests deeper than `limit`, measured without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Validates a raw Wootric record against its entity schema and wraps it. Throws RecordValidationError. */
export function makeEnvelope(entity: RecordEntity, raw: unknown, opts: MakeEnvelopeOptions): Envelope {
  const def = ENTITY_DEFS[entity];
  // Webhook bodies are bounded at parse time; API records arrive here straight from JSON.parse.
  if (nestsDeeperThan(raw, MAX_RECORD_DEPTH)) {
    throw new RecordValidationError(entity, `record nests deeper than ${MAX_RECORD_DEPTH} levels`);
  }
  const parsed = def.schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`)
      .join("; ");
    throw new RecordValidationError(entity, first);
  }
  keepProtoKeys(raw, parsed.data);
  const data = wellFormedDeep(parsed.data);
  const rawId = opts.id ?? def.idOf(data);
  if (rawId === undefined) throw new RecordValidationError(entity, "record has no id");
  const id = typeof rawId === "string" ? wellFormedString(rawId) : rawId;
  const format = opts.format ?? (opts.source === "poll" ? "api" : undefined);
  const receivedAt = (opts.receivedAt ?? new Date()).toISOString();
  const envelope: Envelope = {
    entity,
    id,
    source: opts.source,
    ...(format !== undefined ? { format } : {}),
    dedup_key: dedupKey(entity, id, data),
    version: versionKey(data.updated_at, receivedAt, format),
    received_at: receivedAt,
    created_at: toIsoUtc(data.created_at) ?? null,
    updated_at: toIsoUtc(data.updated_at) ?? null,
    data,
  };
  if (opts.webhook) {
    const { event_name, timestamp, account_token, survey_mode } = wellFormedDeep(opts.webhook);
    if (event_name !== undefined) envelope.event_name = event_name;
    if (timestamp !== undefined) envelope.timestamp = timestamp;
    if (account_token !== undefined) envelope.account_token = account_token;
    if (survey_mode !== undefined) envelope.survey_mode = survey_mode;
  }
  if (opts.webhookKeys !== undefined) envelope.webhook = wellFormedDeep(opts.webhookKeys);
  return envelope;
}

/**
 * A tombstone: a record the poller delivered before and a complete read of its window no longer lists (deleted in
 * Wootric). Same entity and id as the record, `deleted: true`, one per deletion (`<entity>:<id>:deleted`), `data`
 * holding the id and what is still known about it (the owning end user's id for responses and declines).
 * Wootric publishes no deletion time, so `updated_at` is when the absence was seen: later than any version the
 * record had, which makes the latest `version` (and "latest by updated_at") the tombstone.
 */
export function makeTombstone(
  entity: RecordEntity,
  id: number | string,
  known: Record<string, unknown>,
  seenAt: Date,
): Envelope {
  return {
    entity,
    id,
    source: "poll",
    format: "api",
    dedup_key: `${entity}:${id}:deleted`,
    version: versionKey(seenAt.toISOString(), seenAt.toISOString(), "api"),
    received_at: seenAt.toISOString(),
    created_at: null,
    updated_at: seenAt.toISOString(),
    deleted: true,
    data: { id, ...known },
  };
}

/**
 * A `__proto__` key sent as data is kept as data. JSON.parse defines it as an own property, but schema validation
 * copies objects by assignment, which turns it into the prototype: put it back where validation dropped it.
 * Input depth is bounded at parse time, so the walk is too.
 */
function keepProtoKeys(raw: unknown, data: unknown): void {
  if (raw === null || typeof raw !== "object" || data === null || typeof data !== "object" || raw === data) return;
  if (Array.isArray(raw)) {
    if (Array.isArray(data)) for (let i = 0; i < raw.length && i < data.length; i++) keepProtoKeys(raw[i], data[i]);
    return;
  }
  const own = Object.getOwnPropertyDescriptor(raw, "__proto__");
  if (own && !Object.hasOwn(data, "__proto__")) {
    if (!Array.isArray(data) && Object.getPrototypeOf(data) !== Object.prototype)
      Object.setPrototypeOf(data, Object.prototype);
    Object.defineProperty(data, "__proto__", {
      value: own.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  for (const [k, v] of Object.entries(raw)) {
    if (k !== "__proto__" && Object.hasOwn(data, k)) keepProtoKeys(v, (data as Record<string, unknown>)[k]);
  }
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
    reason: wellFormedString(input.reason),
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

/** The envelope of a record recovered from a dead letter: same fields (received_at kept), plus `replayed_at`. */
export function withReplayedAt(envelope: Envelope, replayedAt: Date): Envelope {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(envelope)) {
    out[k] = v;
    if (k === "received_at") out.replayed_at = replayedAt.toISOString();
  }
  return out as unknown as Envelope;
}

/** One newline-terminated JSON line: the unit that lands in S3. */
export function serializeEnvelope(envelope: Envelope): string {
  return `${JSON.stringify(envelope)}\n`;
}

/** The S3 / file partition of an envelope: `entity=<entity>/dt=<YYYY-MM-DD of received_at>`. */
export function partitionOf(envelope: Pick<Envelope, "entity" | "received_at">): { entity: string; dt: string } {
  return { entity: envelope.entity, dt: envelope.received_at.slice(0, 10) };
}
