import { ENTITY_DEFS } from "../records/entities.js";
import {
  type Envelope,
  makeDeadLetter,
  makeEnvelope,
  RecordValidationError,
  type WebhookContext,
} from "../records/envelope.js";
import { nullableTextFields, webhookWrapperSchema } from "../records/schemas.js";

/** Why a signed body became a dead letter (the `kind` label of the dead-letter metric). */
export type DeadLetterKind = "unparsable" | "no_record" | "invalid_record";

export interface WebhookEnvelopes {
  envelopes: Envelope[];
  deadLetters: { kind: DeadLetterKind; reason: string }[];
}

export interface RawWebhook {
  raw: Buffer;
  contentType: string | undefined;
  receivedAt: Date;
}

/** A signed body we could not parse at all: kept whole as a dead letter. */
export function unparsableWebhook(input: RawWebhook, reason: string): WebhookEnvelopes {
  return {
    envelopes: [deadLetter(input, reason)],
    deadLetters: [{ kind: "unparsable", reason }],
  };
}

/**
 * Turns a parsed webhook body (`{ response | decline, event_name, timestamp, account_token, survey_mode }`) into
 * envelopes. Any `event_name` is accepted and kept. A body holding neither record, or a record that fails validation,
 * becomes a dead letter with the raw bytes, so nothing signed is ever dropped.
 */
export function webhookToEnvelopes(
  body: unknown,
  input: RawWebhook,
  format: "json" | "form" = "json",
): WebhookEnvelopes {
  const wrapper = webhookWrapperSchema.safeParse(body);
  if (!wrapper.success || body === null || typeof body !== "object" || Array.isArray(body)) {
    return {
      envelopes: [deadLetter(input, "body is not a webhook object")],
      deadLetters: [{ kind: "no_record", reason: "body is not a webhook object" }],
    };
  }
  const w = wrapper.data;
  const context: WebhookContext = {};
  if (w.event_name !== undefined) context.event_name = w.event_name;
  if (w.timestamp !== undefined) context.timestamp = w.timestamp;
  if (w.account_token !== undefined) context.account_token = w.account_token;
  if (w.survey_mode !== undefined) context.survey_mode = w.survey_mode;

  const out: WebhookEnvelopes = { envelopes: [], deadLetters: [] };
  const entities = (["response", "decline"] as const).filter((e) => w[e] !== undefined && w[e] !== null);
  if (entities.length === 0) {
    const reason = "webhook holds neither a response nor a decline";
    out.envelopes.push(deadLetter(input, reason));
    out.deadLetters.push({ kind: "no_record", reason });
    return out;
  }
  const webhookKeys = topLevelKeys(body as Record<string, unknown>, entities);
  for (const entity of entities) {
    try {
      const record = format === "form" ? formBlanksToNull(entity, w[entity]) : w[entity];
      out.envelopes.push(
        makeEnvelope(entity, record, {
          source: "webhook",
          receivedAt: input.receivedAt,
          webhook: context,
          format,
          webhookKeys,
        }),
      );
    } catch (err) {
      if (!(err instanceof RecordValidationError)) throw err;
      out.envelopes.push(deadLetter(input, err.message, entity));
      out.deadLetters.push({ kind: "invalid_record", reason: err.message });
    }
  }
  return out;
}

/** Every top-level key of the body except the records that became envelopes: nothing the sender signed is lost. */
function topLevelKeys(body: Record<string, unknown>, recordKeys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!recordKeys.includes(k))
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A form body cannot say null: it sends `response[text]=` where JSON and the API send `"text": null`. For the record's
 * nullable text and timestamp fields, `""` from a form body is null, so one version has one shape whatever the path.
 * Custom property values (`end_user_properties.*`) stay strings: a form body does not say which were numbers.
 */
function formBlanksToNull(entity: "response" | "decline", record: unknown): unknown {
  if (record === null || typeof record !== "object" || Array.isArray(record)) return record;
  const fields = nullableTextFields(ENTITY_DEFS[entity].schema);
  let out: Record<string, unknown> | undefined;
  for (const f of fields) {
    if (Object.hasOwn(record, f) && (record as Record<string, unknown>)[f] === "") {
      out ??= { ...(record as Record<string, unknown>) };
      out[f] = null;
    }
  }
  return out ?? record;
}

function deadLetter(input: RawWebhook, reason: string, intendedEntity?: string): Envelope {
  return makeDeadLetter({
    reason,
    raw: input.raw,
    source: "webhook",
    receivedAt: input.receivedAt,
    ...(intendedEntity !== undefined ? { intendedEntity } : {}),
    ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
  });
}
