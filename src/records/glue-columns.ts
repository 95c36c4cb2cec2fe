import { z } from "zod";
import { ENTITY_DEFS, type Entity, type RecordEntity } from "./entities.js";

/**
 * Glue/Athena table columns derived from the same zod schemas that validate the records, so the tables Terraform
 * creates cannot drift from what the service writes. `npm run gen:glue` writes them to terraform/glue-columns.json;
 * test/unit/glue-columns.test.ts fails when the file and the schemas disagree.
 *
 * Types are Hive type strings as Glue stores them. Timestamps stay strings (ISO-8601 UTC in the envelope, whatever
 * Wootric sent inside `data`): query them with from_iso8601_timestamp(). Values of unknown shape are strings, which
 * the OpenX JSON SerDe fills with the JSON text of the value.
 */

export interface GlueColumn {
  name: string;
  type: string;
  comment: string;
}

export interface GlueTable {
  /** The `entity=` partition value the table reads. */
  entity: Entity;
  columns: GlueColumn[];
}

/** The Glue table name of each entity (plural, like the poller's stream names). */
export const GLUE_TABLE_NAMES: Record<Entity, string> = {
  response: "responses",
  decline: "declines",
  end_user: "end_users",
  segment: "segments",
  nps_summary: "nps_summary",
  survey_template: "survey_templates",
  dead_letter: "dead_letters",
};

/**
 * The `data` of a dead-letter envelope (see makeDeadLetter in envelope.ts). Its shape is written by this service, not
 * sent by Wootric, so it lives here beside the other column sources; the unit test builds a real dead letter and
 * checks every key it carries has a column.
 */
export const deadLetterDataSchema = z.object({
  reason: z.string(),
  raw: z.string(),
  raw_encoding: z.enum(["utf8", "base64"]),
  raw_sha256: z.string(),
  raw_bytes: z.number().int(),
  intended_entity: z.string().optional(),
  content_type: z.string().optional(),
});

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  const?: unknown;
};

const PRIMITIVE: Record<string, string> = { integer: "bigint", number: "double", boolean: "boolean", string: "string" };

/** The JSON Schema alternatives of a value, with `null` removed (every Hive column is nullable). */
function alternatives(s: JsonSchema): JsonSchema[] {
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.flatMap(alternatives);
  if (Array.isArray(s.type)) return s.type.filter((t) => t !== "null").map((t) => ({ ...s, type: t }));
  if (s.type === "null") return [];
  return [s];
}

/** Hive type of one JSON Schema node. */
export function hiveType(s: JsonSchema): string {
  const alts = alternatives(s);
  const types = [...new Set(alts.map(hiveTypeOfSingle))];
  if (types.length === 1) return types[0]!;
  // integer|number → double; anything else mixed (e.g. a timestamp sent as string or epoch number) → string.
  if (types.every((t) => t === "bigint" || t === "double")) return "double";
  return "string";
}

function hiveTypeOfSingle(s: JsonSchema): string {
  if (s.enum !== undefined || s.const !== undefined) {
    const values = s.enum ?? [s.const];
    if (values.every((v) => typeof v === "string")) return "string";
  }
  const t = typeof s.type === "string" ? s.type : undefined;
  if (t && PRIMITIVE[t]) return PRIMITIVE[t];
  if (t === "array") return `array<${s.items ? hiveType(s.items) : "string"}>`;
  if (t === "object") {
    const props = Object.entries(s.properties ?? {});
    if (props.length > 0) return `struct<${props.map(([k, v]) => `${k}:${hiveType(v)}`).join(",")}>`;
    return "map<string,string>";
  }
  return "string";
}

/** Hive type of a zod schema (its parsed output, as it lands in S3). */
export function hiveTypeOfZod(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as JsonSchema;
  return hiveType(json);
}

/** The envelope columns every table has, in the order serializeEnvelope writes them (entity is the partition). */
function envelopeColumns(entity: Entity, dataSchema: z.ZodType): GlueColumn[] {
  const idType = entity === "dead_letter" ? "string" : ENTITY_DEFS[entity].idType;
  return [
    { name: "id", type: idType, comment: "Wootric id (segment: name, nps_summary: date, dead_letter: hash)" },
    { name: "source", type: "string", comment: "webhook or poll" },
    { name: "dedup_key", type: "string", comment: "equal for the same version of the same record; dedup on it" },
    {
      name: "deleted",
      type: "boolean",
      comment: "true on a tombstone: the record was deleted in Wootric (dedup_key <entity>:<id>:deleted)",
    },
    { name: "received_at", type: "string", comment: "ISO-8601 UTC time the service received the record" },
    { name: "created_at", type: "string", comment: "record created_at, ISO-8601 UTC" },
    { name: "updated_at", type: "string", comment: "record updated_at, ISO-8601 UTC" },
    { name: "event_name", type: "string", comment: "webhook event (created, updated, ...)" },
    { name: "timestamp", type: "string", comment: "webhook wrapper timestamp as sent" },
    { name: "account_token", type: "string", comment: "webhook account token" },
    { name: "survey_mode", type: "string", comment: "webhook survey mode" },
    { name: "data", type: hiveTypeOfZod(dataSchema), comment: "the record as Wootric sent it" },
  ];
}

/** Every Glue table, keyed by table name. Deterministic: same schemas → same output. */
export function glueTables(): Record<string, GlueTable> {
  const out: Record<string, GlueTable> = {};
  for (const entity of Object.keys(ENTITY_DEFS) as RecordEntity[]) {
    out[GLUE_TABLE_NAMES[entity]] = { entity, columns: envelopeColumns(entity, ENTITY_DEFS[entity].schema) };
  }
  out[GLUE_TABLE_NAMES.dead_letter] = {
    entity: "dead_letter",
    columns: envelopeColumns("dead_letter", deadLetterDataSchema),
  };
  return out;
}

/** The text of terraform/glue-columns.json. */
export function glueColumnsJson(): string {
  return `${JSON.stringify(glueTables(), null, 2)}\n`;
}
