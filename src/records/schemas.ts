import { z } from "zod";

/**
 * Lenient schemas for every Wootric entity. Unknown fields are kept (looseObject), values sent as strings by
 * form-encoded webhooks are coerced to their real types, and only what identifies a record is required.
 * These schemas are the single source of truth for record types and for the Glue table columns (glue-columns.ts).
 */

const blankToNull = (v: unknown) => (v === "" ? null : v);

const numberish = z.preprocess((v) => {
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return blankToNull(v);
}, z.number().nullable().optional());

const integerId = z.preprocess(
  (v) => (typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v),
  z.number().int().nonnegative().safe(),
);

const booleanish = z.preprocess((v) => {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return blankToNull(v);
}, z.boolean().nullable().optional());

const text = z.string().nullable().optional();
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
  tags: z.array(z.unknown()).nullable().optional(),
  notes: z.array(z.unknown()).nullable().optional(),
  email: text,
  external_id: text,
  end_user: z.looseObject({ properties, email: text }).nullable().optional(),
  end_user_properties: properties,
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

export type WootricResponse = z.infer<typeof responseSchema>;
export type WootricDecline = z.infer<typeof declineSchema>;
export type WootricEndUser = z.infer<typeof endUserSchema>;
export type WootricSegment = z.infer<typeof segmentSchema>;
export type WootricNpsSummary = z.infer<typeof npsSummarySchema>;
export type WootricSurveyTemplate = z.infer<typeof surveyTemplateSchema>;
export type WebhookWrapper = z.infer<typeof webhookWrapperSchema>;
