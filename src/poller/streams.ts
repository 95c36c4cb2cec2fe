import type { RecordEntity } from "../records/entities.js";

/**
 * The streams the poller reconciles, as declarations. One engine runs them all; a stream differs only in what is
 * written here. Names are what `--streams` accepts.
 */
export const STREAM_NAMES = [
  "end_users",
  "responses",
  "declines",
  "segments",
  "survey_templates",
  "nps_summary",
] as const;
export type StreamName = (typeof STREAM_NAMES)[number];

interface BaseDecl {
  name: StreamName;
  entity: RecordEntity;
  endpoint: string;
}

/**
 * A list endpoint read in half-open time windows [gte, lt) of `filter`, sorted ascending by `cursorField`.
 * `lookback`: the filter is on created, so edits and backdated records only show up by re-reading recent windows.
 */
export interface WindowStreamDecl extends BaseDecl {
  kind: "window";
  filter: "created" | "updated";
  cursorField: "created_at" | "updated_at";
  sortKey: "created_at" | "updated_at";
  lookback: boolean;
  /** The owning record's id, kept in the version map so a tombstone can name it (responses: end_user_id). */
  parentField?: "end_user_id";
}

/** An aggregate asked for one day at a time (date[start] = date[end] = day); the record's id is the day. */
export interface DailyStreamDecl extends BaseDecl {
  kind: "daily";
}

/** A small unpaginated list re-read whole every sync; records are emitted when their content changed. */
export interface SnapshotStreamDecl extends BaseDecl {
  kind: "snapshot";
  /** The list of records inside the answer; throws when the answer does not have the documented shape. */
  extract: (body: unknown) => unknown[];
  /** The record's key inside the snapshot (segments have no id: their name is the key). */
  keyOf: (record: unknown) => string | undefined;
}

export type StreamDecl = WindowStreamDecl | DailyStreamDecl | SnapshotStreamDecl;

const field = (name: string) => (r: unknown) => {
  const v = r !== null && typeof r === "object" ? (r as Record<string, unknown>)[name] : undefined;
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
};

/**
 * The answer's other top-level fields (survey templates: `default_survey_template_id`) copied onto each record of its
 * list, so none is dropped; a record's own field of the same name wins.
 */
function withWrapperFields(body: Record<string, unknown>, listKey: string, list: unknown[]): unknown[] {
  const extra = Object.entries(body).filter(([k]) => k !== listKey);
  if (extra.length === 0) return list;
  return list.map((r) =>
    r !== null && typeof r === "object" && !Array.isArray(r) ? { ...Object.fromEntries(extra), ...r } : r,
  );
}

export const STREAMS: Record<StreamName, StreamDecl> = {
  // updated_at moves on every change, so windows on `updated` see each new version once; no lookback needed.
  end_users: {
    kind: "window",
    name: "end_users",
    entity: "end_user",
    endpoint: "/v1/end_users",
    filter: "updated",
    cursorField: "updated_at",
    sortKey: "updated_at",
    lookback: false,
  },
  // docs.wootric.com/api documents only the `created` filter for responses and declines (`updated` is end users only).
  responses: {
    kind: "window",
    name: "responses",
    entity: "response",
    endpoint: "/v1/responses",
    filter: "created",
    cursorField: "created_at",
    sortKey: "created_at",
    lookback: true,
    parentField: "end_user_id",
  },
  declines: {
    kind: "window",
    name: "declines",
    entity: "decline",
    endpoint: "/v1/declines",
    filter: "created",
    cursorField: "created_at",
    sortKey: "created_at",
    lookback: true,
    parentField: "end_user_id",
  },
  segments: {
    kind: "snapshot",
    name: "segments",
    entity: "segment",
    endpoint: "/v1/segments",
    extract: (body) => {
      if (!Array.isArray(body)) throw new Error("expected a JSON array of segments");
      return body;
    },
    keyOf: field("name"),
  },
  survey_templates: {
    kind: "snapshot",
    name: "survey_templates",
    entity: "survey_template",
    endpoint: "/v1/survey_templates",
    extract: (body) => {
      if (Array.isArray(body)) return body;
      const list =
        body !== null && typeof body === "object" ? (body as Record<string, unknown>).survey_templates : undefined;
      if (!Array.isArray(list)) throw new Error("expected {survey_templates: [...]}");
      return withWrapperFields(body as Record<string, unknown>, "survey_templates", list);
    },
    keyOf: field("id"),
  },
  nps_summary: { kind: "daily", name: "nps_summary", entity: "nps_summary", endpoint: "/v1/nps_summary" },
};

/** Parses `--streams a,b` (or undefined for all). Throws with the list of valid names on an unknown one. */
export function selectStreams(spec: string | undefined): StreamDecl[] {
  if (spec === undefined || spec.trim() === "") return STREAM_NAMES.map((n) => STREAMS[n]);
  const wanted = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !(STREAM_NAMES as readonly string[]).includes(w));
  if (unknown.length > 0)
    throw new Error(`unknown stream ${unknown.join(", ")}; valid streams: ${STREAM_NAMES.join(", ")}`);
  // Run in the canonical order whatever order was asked for (nps_summary after responses).
  return STREAM_NAMES.filter((n) => wanted.includes(n)).map((n) => STREAMS[n]);
}
