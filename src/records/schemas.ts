import { z } from "zod";

/**
 * Lenient schemas for every Wootric entity. Unknown fields are kept (looseObject), values sent as strings by
 * form-encoded webhooks are coerced to their real types, and only what identifies a record is required.
 * These schemas are the single source of truth for record types and for the Glue table columns (glue-columns.ts).
 */

const blankToNull = (v: unknown) => (v === "" ? null : v);

/** A decimal number written as text (form bodies): "7", "-1.5", "2e3". Not hex, not "Infinity", not blank. */
const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

const numberish = z.preprocess((v) => {
  if (typeof v === "string" && DECIMAL.test(v.trim()) && Number.isFinite(Number(v))) return Number(v);
  return blankToNull(v);
}, z.number().nullable().optional());

/** A count: an integer, from a number or its decimal text. */
const integerish = z.preprocess((v) => {
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v);
  return blankToNull(v);
}, z.number().int().safe().nullable().optional());

const integerId = z.preprocess(
  (v) => (typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v),
  z.number().int().nonnegative().safe(),
);

const booleanish = z.preprocess((v) => {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return blankToNull(v);
}, z.boolean().nullable().optional());

/**
 * Nullable text. A number where text is expected (`external_id: 12345`) is written as its decimal text: lossless,
 * and the record is kept instead of dead-lettered. Anything else that is not a string still fails validation.
 */
const text = z.preprocess(
  (v) => (typeof v === "number" && Number.isFinite(v) ? String(v) : v),
  z.string().nullable().optional(),
);

/** A list of strings; one string sent on its own (`tags: "SUPPORT"`) is the one-element list. */
const stringList = z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(z.unknown()).nullable().optional());
/** Timestamps stay as Wootric sent them inside `data`; the envelope carries them normalised to UTC. */
const timestamp = z.union([z.string(), z.number()]).nullable().optional();
const properties = z.record(z.string(), z.unknown()).nullable().optional();

export const responseSchema = z.looseObject({
  id: integerId,
  end_user_id: integerId.nullable().optional(),
  survey_id: integerId.nullable().optional(),
  score: numberish,
  text,
  completed: booleanish,
  excluded_from_calculations: booleanish,
  ip_address: text,
  origin_url: text,
  created_at: timestamp,
  updated_at: timestamp,
  tags: stringList,
  notes: z.array(z.unknown()).nullable().optional(),
  email: text,
  external_id: text,
  end_user: z.looseObject({ properties, email: text }).nullable().optional(),
  end_user_properties: properties,
  /** Legacy: the Wootric account owner's user id, in older payloads. */
  user_id: integerId.nullable().optional(),
});

export const declineSchema = z.looseObject({
  id: integerId,
  end_user_id: integerId.nullable().optional(),
  survey_id: integerId.nullable().optional(),
  ip_address: text,
  origin_url: text,
  created_at: timestamp,
  updated_at: timestamp,
  email: text,
  external_id: text,
  end_user: z.looseObject({ properties }).nullable().optional(),
  end_user_properties: properties,
});

export const endUserSchema = z.looseObject({
  id: integerId,
  email: text,
  external_id: text,
  phone_number: text,
  created_at: timestamp,
  updated_at: timestamp,
  last_surveyed: timestamp,
  external_created_at: timestamp,
  last_seen_at: timestamp,
  properties,
  last_response: z
    .looseObject({
      id: integerId.nullable().optional(),
      score: numberish,
      text,
      survey: z.looseObject({ channel: text }).nullable().optional(),
    })
    .nullable()
    .optional(),
  settings: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Legacy fields of older payloads (the page-view API was removed from the docs in 2018). */
  page_views_count: integerish,
  user_id: integerId.nullable().optional(),
});

export const segmentSchema = z.looseObject({
  name: z.string().min(1),
  data_type: text,
  created_at: timestamp,
});

export const npsSummarySchema = z.looseObject({
  nps: numberish,
  responses: numberish,
  detractors: numberish,
  passives: numberish,
  promoters: numberish,
  response_rate: numberish,
  email_response_rate: numberish,
});

/** A survey template language, `{ code, name }` (docs.wootric.com API: survey templates); a bare code is accepted too. */
const templateLanguage = z.preprocess(
  (v) => (typeof v === "string" ? { code: v } : v),
  z.looseObject({ code: text, name: text }),
);

export const surveyTemplateSchema = z.looseObject({
  id: integerId,
  name: text,
  default_language: text,
  languages: z.array(templateLanguage).nullable().optional(),
  non_configured_language_count: numberish,
  custom_samplings: z.array(z.unknown()).nullable().optional(),
  /** From the answer's wrapper (`{default_survey_template_id, survey_templates: [...]}`), copied onto each template. */
  default_survey_template_id: integerId.nullable().optional(),
});

/** The wrapper Wootric puts around a webhook's record. */
export const webhookWrapperSchema = z.looseObject({
  event_name: z.string().optional(),
  timestamp: timestamp,
  account_token: z.string().optional(),
  survey_mode: z.string().optional(),
  response: z.unknown().optional(),
  decline: z.unknown().optional(),
});

/**
 * Top-level fields of an entity that are nullable text or timestamps. A form-encoded webhook cannot send null, so it
 * sends `""` where JSON and the API send `null`: these fields of a form body are read as null when empty.
 */
export function nullableTextFields(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  return Object.entries(shape)
    .filter(([, s]) => s === text || s === timestamp)
    .map(([k]) => k);
}
