import schedule from "node-schedule";
import { z } from "zod";

/**
 * Every setting comes from the environment and is validated here, once, at start-up.
 * A wrong value fails fast with a message that names the variable and says how to fix it.
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

const int = (min: number, max: number, def: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));

const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
      .default(def ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  );

const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** An optional ceiling: unset (the default) means none. */
const optionalInt = (min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).optional());

const isoDate = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: "must be a date written YYYY-MM-DD" })
    .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), { message: "is not a real calendar date" })
    .optional(),
);

/** Asks node-schedule itself, so what passes here is exactly what the scheduler accepts. */
function isValidCron(rule: string): boolean {
  const job = new schedule.Job(() => undefined);
  const ok = job.schedule({ rule, tz: "Etc/UTC" });
  job.cancel();
  return ok;
}

export const REGION_BASE_URLS = {
  us: "https://api.wootric.com",
  eu: "https://api.wootric.eu",
  au: "https://api.wootric.au",
} as const;

/** Variable → schema. Keys are the exact environment variable names users set. */
const envSchema = z.object({
  // HTTP intake
  PORT: int(0, 65535, 8080),
  HOST: z.preprocess(emptyToUndefined, z.string().default("0.0.0.0")),
  WOOTRIC_WEBHOOK_SECRET: optionalString,
  ALLOW_UNSIGNED_WEBHOOKS: bool(false),
  WEBHOOK_MAX_BYTES: int(1024, 64 * 1024 * 1024, 1024 * 1024),

  // Wootric REST API
  WOOTRIC_CLIENT_ID: optionalString,
  WOOTRIC_CLIENT_SECRET: optionalString,
  WOOTRIC_REGION: z.preprocess(
    (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
    z.enum(["us", "eu", "au"], { message: "must be one of us, eu, au" }).default("us"),
  ),
  WOOTRIC_API_URL: z.preprocess(
    emptyToUndefined,
    z.url({ message: "must be an absolute http(s) URL such as https://api.wootric.com" }).optional(),
  ),
  POLL_CRON: z.preprocess(
    emptyToUndefined,
    z.string().default("*/15 * * * *").refine(isValidCron, { message: "is not a valid cron expression" }),
  ),
  SYNC_START_DATE: isoDate,
  SYNC_SETTLE_SECONDS: int(0, 3600, 5),
  LOOKBACK_DAYS: int(0, 366, 7),
  LEASE_TTL_SECONDS: int(10, 86400, 300),

  // Sinks
  FIREHOSE_STREAM_NAME: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,64}$/, { message: "must be 1-64 characters of letters, digits, _ . -" })
      .optional(),
  ),
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default("./data")),
  STATE_URL: optionalString,
  SPOOL_DIR: optionalString,
  SPOOL_MAX_BYTES: int(1024 * 1024, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
  DEAD_LETTER_URL: optionalString,
  FIREHOSE_LINGER_MS: int(0, 60_000, 200),
  // Optional ceilings on the adaptive send rate (default: none; the rate follows the stream's own throttling).
  FIREHOSE_MAX_RECORDS_PER_SECOND: optionalInt(1, 10_000_000),
  FIREHOSE_MAX_BYTES_PER_SECOND: optionalInt(1024, 1024 * 1024 * 1024),
  FIREHOSE_MAX_REQUESTS_PER_SECOND: optionalInt(1, 100_000),
  FIREHOSE_MAX_IN_FLIGHT: int(1, 64, 4),
  FILE_ROTATE_BYTES: int(1024, Number.MAX_SAFE_INTEGER, 64 * 1024 * 1024),
  FILE_ROTATE_SECONDS: int(1, 86400, 60),
  SHUTDOWN_TIMEOUT_MS: int(0, 3_600_000, 20_000),

  // Logging
  LOG_LEVEL: z.preprocess(
    (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
    z.enum(["error", "warn", "info", "debug"], { message: "must be one of error, warn, info, debug" }).default("info"),
  ),
  LOG_FORMAT: z.preprocess(
    (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
    z.enum(["auto", "json", "pretty"], { message: "must be one of auto, json, pretty" }).default("auto"),
  ),
});

type Env = z.infer<typeof envSchema>;

export type StateLocation = { kind: "s3"; bucket: string; prefix: string } | { kind: "dir"; path: string };

export interface Config {
  http: { port: number; host: string; maxBodyBytes: number };
  webhook: { secrets: string[]; allowUnsigned: boolean };
  wootric: { clientId: string; clientSecret: string; baseUrl: string } | undefined;
  poll: {
    cron: string;
    startDate: string | undefined;
    settleSeconds: number;
    lookbackDays: number;
    leaseTtlSeconds: number;
  };
  sink:
    | { kind: "file"; dataDir: string; rotateBytes: number; rotateSeconds: number }
    | {
        kind: "firehose";
        streamName: string;
        spoolDir: string;
        spoolMaxBytes: number;
        deadLetter: { bucket: string; prefix: string } | undefined;
        lingerMs: number;
        /** Optional ceilings on the adaptive rate (undefined: none). */
        maxRecordsPerSecond?: number | undefined;
        maxBytesPerSecond?: number | undefined;
        maxRequestsPerSecond?: number | undefined;
        maxInFlight: number;
      };
  state: StateLocation;
  shutdownTimeoutMs: number;
  log: { level: "error" | "warn" | "info" | "debug"; format: "auto" | "json" | "pretty" };
}

/** How to fix each variable, appended to its error message. */
const HINTS: Partial<Record<keyof Env, string>> = {
  PORT: "set PORT to a TCP port such as 8080",
  POLL_CRON: 'five cron fields (minute hour day month weekday) in UTC, e.g. POLL_CRON="*/15 * * * *"',
  WOOTRIC_REGION: "set WOOTRIC_REGION=us, eu or au (or WOOTRIC_API_URL for another base URL)",
  WOOTRIC_API_URL: "set WOOTRIC_API_URL to the base URL that holds /oauth/token and /v1/..., or unset it",
  SYNC_START_DATE: "e.g. SYNC_START_DATE=2024-01-01, or unset it to read the whole history",
  FIREHOSE_STREAM_NAME: "use the delivery stream's name (terraform output firehose_stream_name), not its ARN",
  FIREHOSE_MAX_BYTES_PER_SECOND:
    "unset it to let the producer find the stream's quota by itself, or give a ceiling in bytes per second",
  ALLOW_UNSIGNED_WEBHOOKS: "set ALLOW_UNSIGNED_WEBHOOKS=true only for local development",
};

export function parseS3Url(raw: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
  if (!m) return undefined;
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1]!, prefix };
}

function parseStateUrl(raw: string | undefined, dataDir: string): StateLocation | string {
  if (raw === undefined) return { kind: "dir", path: `${dataDir.replace(/\/+$/, "")}/_state` };
  if (raw.startsWith("s3://")) {
    const s3 = parseS3Url(raw);
    return s3 ? { kind: "s3", ...s3 } : "STATE_URL must look like s3://bucket/prefix (a valid bucket name)";
  }
  if (raw.startsWith("file://")) {
    try {
      return { kind: "dir", path: decodeURIComponent(new URL(raw).pathname) };
    } catch {
      return "STATE_URL file:// URL is malformed; use file:///absolute/path or a plain directory";
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return "STATE_URL must be s3://bucket/prefix, file:///path or a plain directory path";
  }
  return { kind: "dir", path: raw };
}

function splitSecrets(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "?") as keyof Env;
      const value = env[name];
      const shown = /SECRET/.test(name) ? "(hidden)" : JSON.stringify(value);
      const hint = HINTS[name];
      problems.push(`${name}=${shown}: ${issue.message}${hint ? ` (${hint})` : ""}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;

  const secrets = splitSecrets(e.WOOTRIC_WEBHOOK_SECRET);

  let wootric: Config["wootric"];
  if (e.WOOTRIC_CLIENT_ID && e.WOOTRIC_CLIENT_SECRET) {
    const baseUrl = (e.WOOTRIC_API_URL ?? REGION_BASE_URLS[e.WOOTRIC_REGION]).replace(/\/+$/, "");
    wootric = { clientId: e.WOOTRIC_CLIENT_ID, clientSecret: e.WOOTRIC_CLIENT_SECRET, baseUrl };
  } else if (e.WOOTRIC_CLIENT_ID || e.WOOTRIC_CLIENT_SECRET) {
    const missing = e.WOOTRIC_CLIENT_ID ? "WOOTRIC_CLIENT_SECRET" : "WOOTRIC_CLIENT_ID";
    problems.push(
      `${missing} is missing: the poller needs both WOOTRIC_CLIENT_ID and WOOTRIC_CLIENT_SECRET (Wootric: Settings → API), or neither to run webhooks only`,
    );
  }

  const state = parseStateUrl(e.STATE_URL, e.DATA_DIR);
  if (typeof state === "string") problems.push(state);

  let deadLetter: { bucket: string; prefix: string } | undefined;
  if (e.DEAD_LETTER_URL !== undefined) {
    deadLetter = parseS3Url(e.DEAD_LETTER_URL);
    if (!deadLetter)
      problems.push("DEAD_LETTER_URL must look like s3://bucket/prefix (where oversize records are kept)");
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const sink: Config["sink"] = e.FIREHOSE_STREAM_NAME
    ? {
        kind: "firehose",
        streamName: e.FIREHOSE_STREAM_NAME,
        spoolDir: e.SPOOL_DIR ?? `${e.DATA_DIR.replace(/\/+$/, "")}/_spool`,
        spoolMaxBytes: e.SPOOL_MAX_BYTES,
        deadLetter,
        lingerMs: e.FIREHOSE_LINGER_MS,
        maxRecordsPerSecond: e.FIREHOSE_MAX_RECORDS_PER_SECOND,
        maxBytesPerSecond: e.FIREHOSE_MAX_BYTES_PER_SECOND,
        maxRequestsPerSecond: e.FIREHOSE_MAX_REQUESTS_PER_SECOND,
        maxInFlight: e.FIREHOSE_MAX_IN_FLIGHT,
      }
    : { kind: "file", dataDir: e.DATA_DIR, rotateBytes: e.FILE_ROTATE_BYTES, rotateSeconds: e.FILE_ROTATE_SECONDS };

  return {
    http: { port: e.PORT, host: e.HOST, maxBodyBytes: e.WEBHOOK_MAX_BYTES },
    webhook: { secrets, allowUnsigned: e.ALLOW_UNSIGNED_WEBHOOKS },
    wootric,
    poll: {
      cron: e.POLL_CRON,
      startDate: e.SYNC_START_DATE,
      settleSeconds: e.SYNC_SETTLE_SECONDS,
      lookbackDays: e.LOOKBACK_DAYS,
      leaseTtlSeconds: e.LEASE_TTL_SECONDS,
    },
    sink,
    state: state as StateLocation,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
  };
}

/**
 * With the Firehose sink (a deployment) intake refuses to start without a webhook secret unless unsigned intake is
 * explicitly allowed. The embedded file-sink mode generates a local secret instead (see webhook/dev-secret.ts).
 */
export function requireWebhookSecurity(config: Config): void {
  if (config.webhook.secrets.length === 0 && !config.webhook.allowUnsigned) {
    throw new ConfigError([
      "WOOTRIC_WEBHOOK_SECRET is not set: set it to the secret token from Wootric → Settings → Outgoing Webhooks (comma-separate several during rotation), or set ALLOW_UNSIGNED_WEBHOOKS=true for local development only",
    ]);
  }
}
