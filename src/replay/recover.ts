import { createHash } from "node:crypto";
import { ENTITY_DEFS, type RecordEntity } from "../records/entities.js";
import {
  type Envelope,
  makeEnvelope,
  type RecordFormat,
  RecordValidationError,
  serializeEnvelope,
  type WebhookContext,
  withReplayedAt,
} from "../records/envelope.js";
import { checkContentType, PayloadParseError, parseByContent } from "../webhook/body.js";
import { webhookToEnvelopes } from "../webhook/payload.js";

/** What re-running one dead letter through today's parser gave. */
export type Recovery = { ok: true; envelopes: Envelope[] } | { ok: false; reason: string };

/** The content type the Firehose sink gives a line Firehose refused (an envelope line, not a webhook body). */
const REFUSED_LINE_TYPE = "application/x-ndjson";

export interface RecoverOptions {
  replayedAt: Date;
  /** Recovered lines longer than this would be refused again (the Firehose sink's record limit); none for files. */
  maxLineBytes?: number;
}

/**
 * The identity of a dead letter for the replay record: the hash of its raw bytes plus the entity it was meant to be
 * (one signed body holding a response and a decline can give two dead letters with the same bytes). Retries of one
 * webhook produce the same bytes, hence one identity: the first recovery covers them all.
 */
export function deadLetterIdentity(dl: Envelope): string {
  const intended = typeof dl.data.intended_entity === "string" ? dl.data.intended_entity : "";
  return `${String(dl.id)}:${intended}`;
}

function rawBytes(dl: Envelope): Buffer | string {
  const raw = dl.data.raw;
  if (typeof raw !== "string") return "the dead letter holds no raw bytes";
  const bytes = Buffer.from(raw, dl.data.raw_encoding === "base64" ? "base64" : "utf8");
  const want = dl.data.raw_sha256;
  if (typeof want === "string" && createHash("sha256").update(bytes).digest("hex") !== want)
    return "the raw bytes do not match raw_sha256 (the dead letter was altered)";
  return bytes;
}

/**
 * Re-runs one dead letter through today's parser and schemas. Recovered records keep the dead letter's received_at
 * (so their dedup_key and version are what they would have been) and get `replayed_at`.
 */
export function recoverDeadLetter(dl: Envelope, opts: RecoverOptions): Recovery {
  if (dl.entity !== "dead_letter") return { ok: false, reason: `not a dead letter (entity ${dl.entity})` };
  const raw = rawBytes(dl);
  if (typeof raw === "string") return { ok: false, reason: raw };
  const receivedAt = new Date(dl.received_at);
  if (Number.isNaN(receivedAt.getTime())) return { ok: false, reason: `received_at ${dl.received_at} is not a time` };
  const intended = typeof dl.data.intended_entity === "string" ? dl.data.intended_entity : undefined;
  const contentType = typeof dl.data.content_type === "string" ? dl.data.content_type : undefined;

  let result: Recovery;
  if (contentType === REFUSED_LINE_TYPE) result = fromRefusedLine(raw);
  else if (dl.source === "webhook") result = fromWebhookBody(raw, contentType, receivedAt, intended);
  else result = fromPolledRecord(raw, receivedAt, intended);
  if (!result.ok) return result;

  const envelopes = result.envelopes.map((e) => withReplayedAt(e, opts.replayedAt));
  if (opts.maxLineBytes !== undefined) {
    const tooBig = envelopes.find((e) => Buffer.byteLength(serializeEnvelope(e)) > opts.maxLineBytes!);
    if (tooBig)
      return {
        ok: false,
        reason: `${tooBig.entity} ${String(tooBig.id)} is larger than Firehose's ${opts.maxLineBytes}-byte record limit; it stays a dead letter`,
      };
  }
  return { ok: true, envelopes };
}

function fromWebhookBody(raw: Buffer, contentType: string | undefined, receivedAt: Date, intended?: string): Recovery {
  const type = checkContentType(contentType);
  if (!type.ok) return { ok: false, reason: type.reason };
  let parsed: ReturnType<typeof parseByContent>;
  try {
    parsed = parseByContent(raw, type.format, type.charset);
  } catch (err) {
    if (err instanceof PayloadParseError) return { ok: false, reason: err.message };
    throw err;
  }
  const out = webhookToEnvelopes(parsed.value, { raw, contentType, receivedAt }, parsed.format);
  // Only the record this dead letter stands for: its sibling in the same body was stored when it arrived.
  const wanted = (e: Envelope) =>
    intended === undefined ||
    (e.entity === "dead_letter" ? e.data.intended_entity === intended : e.entity === intended);
  const records = out.envelopes.filter((e) => e.entity !== "dead_letter" && wanted(e));
  const stillDead = out.envelopes.filter((e) => e.entity === "dead_letter" && wanted(e));
  if (stillDead.length > 0 || records.length === 0) {
    return { ok: false, reason: String(stillDead[0]?.data.reason ?? "the body holds no record") };
  }
  return { ok: true, envelopes: records };
}

function fromPolledRecord(raw: Buffer, receivedAt: Date, intended?: string): Recovery {
  if (intended === undefined || !(intended in ENTITY_DEFS))
    return { ok: false, reason: `unknown entity ${intended ?? "(none)"}; re-read it from the API with backfill` };
  if (intended === "nps_summary")
    return { ok: false, reason: "an nps_summary dead letter does not say its day; re-read it with backfill" };
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `the record is not valid JSON: ${(err as Error).message}` };
  }
  return validated(() => makeEnvelope(intended as RecordEntity, value, { source: "poll", receivedAt }));
}

/** A line Firehose refused: an envelope already; its record is validated again by today's schemas. */
function fromRefusedLine(raw: Buffer): Recovery {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, reason: `the refused line is not valid JSON: ${(err as Error).message}` };
  }
  const entity = line.entity;
  if (typeof entity !== "string" || !(entity in ENTITY_DEFS))
    return { ok: false, reason: `the refused line is a ${String(entity)} envelope, not a record` };
  const receivedAt = new Date(String(line.received_at));
  if (Number.isNaN(receivedAt.getTime())) return { ok: false, reason: "the refused line has no received_at" };
  const context: WebhookContext = {};
  for (const k of ["event_name", "timestamp", "account_token", "survey_mode"] as const)
    if (line[k] !== undefined) (context as Record<string, unknown>)[k] = line[k];
  const format = ["api", "json", "form"].includes(String(line.format)) ? (line.format as RecordFormat) : undefined;
  const webhookKeys = line.webhook !== null && typeof line.webhook === "object" ? line.webhook : undefined;
  return validated(() =>
    makeEnvelope(entity as RecordEntity, line.data, {
      source: line.source === "poll" ? "poll" : "webhook",
      receivedAt,
      ...(entity === "nps_summary" && (typeof line.id === "string" || typeof line.id === "number")
        ? { id: line.id }
        : {}),
      ...(line.source === "webhook" ? { webhook: context } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(webhookKeys !== undefined ? { webhookKeys: webhookKeys as Record<string, unknown> } : {}),
    }),
  );
}

function validated(make: () => Envelope): Recovery {
  try {
    return { ok: true, envelopes: [make()] };
  } catch (err) {
    if (err instanceof RecordValidationError) return { ok: false, reason: err.message };
    throw err;
  }
}
