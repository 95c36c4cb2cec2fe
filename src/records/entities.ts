import type { z } from "zod";
import {
  declineSchema,
  endUserSchema,
  npsSummarySchema,
  responseSchema,
  segmentSchema,
  surveyTemplateSchema,
} from "./schemas.js";

/** How each entity is identified. `idType` drives the Glue column type of `id`. */
export interface EntityDef {
  schema: z.ZodType<Record<string, unknown>>;
  /** The envelope id of a validated record (the nps_summary id, a date, is given by the caller). */
  idOf: (record: Record<string, unknown>) => number | string | undefined;
  idType: "bigint" | "string";
}

const numericId = (r: Record<string, unknown>) => (typeof r.id === "number" ? r.id : undefined);

export const ENTITY_DEFS = {
  response: { schema: responseSchema, idOf: numericId, idType: "bigint" },
  decline: { schema: declineSchema, idOf: numericId, idType: "bigint" },
  end_user: { schema: endUserSchema, idOf: numericId, idType: "bigint" },
  segment: { schema: segmentSchema, idOf: (r) => (typeof r.name === "string" ? r.name : undefined), idType: "string" },
  nps_summary: { schema: npsSummarySchema, idOf: () => undefined, idType: "string" },
  survey_template: { schema: surveyTemplateSchema, idOf: numericId, idType: "bigint" },
} as const satisfies Record<string, EntityDef>;

export type RecordEntity = keyof typeof ENTITY_DEFS;
export type Entity = RecordEntity | "dead_letter";

const RECORD_ENTITIES = Object.keys(ENTITY_DEFS) as RecordEntity[];
export const ENTITIES: readonly Entity[] = [...RECORD_ENTITIES, "dead_letter"];
