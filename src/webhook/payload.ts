import {
  type Envelope,
  makeDeadLetter,
  makeEnvelope,
  RecordValidationError,
  type WebhookContext,
} from "../records/envelope.js";
import { webhookWrapperSchema } from "../records/schemas.js";

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
export function webhookToEnvelopes(body: unknown, input: RawWebhook): WebhookEnvelopes {
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
  for (const entity of entities) {
    try {
      out.envelopes.push(
        makeEnvelope(entity, w[entity], { source: "webhook", receivedAt: input.receivedAt, webhook: context }),
      );
    } catch (err) {
      if (!(err instanceof RecordValidationError)) throw err;
      out.envelopes.push(deadLetter(input, err.message, entity));
      out.deadLetters.push({ kind: "invalid_record", reason: err.message });
    }
  }
  return out;
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
