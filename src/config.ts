import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve as resolvePath } from "node:path";
import schedule from "node-schedule";
import { z } from "zod";
import type { HttpLimits } from "./webhook/server.js";

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

/** Whole numbers in decimal digits only: `0x4e20`, `1e3` or `8080.0` are mistakes, not numbers to guess at. */
const int = (min: number, max: number, def: number) =>
  z.preprocess(
    (v) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v),
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number written in decimal digits" })
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(def),
  );

const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
      .default(def ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  );

const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

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

/** An IP address, or a host name by RFC 1123 that is not a malformed dotted-decimal address such as 999.1.1.1. */
function isListenHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length > 253 || /^[\d.]+$/.test(host)) return false;
  return host.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

/** Why a directory setting cannot work (a file where a directory must be, not writable), or undefined. */
function directoryProblem(variable: string, path: string): string | undefined {
  if (path.includes("\u0000")) return `${variable} contains a NUL character: set it to a directory path`;
  // The directory itself if it exists, else its nearest existing ancestor (start-up creates the rest).
  for (let p = resolvePath(path); ; p = dirname(p)) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && dirname(p) !== p) continue;
      if (code === "ENOTDIR") return `${variable}=${JSON.stringify(path)}: ${p} is under a file, not a directory`;
      return `${variable}=${JSON.stringify(path)}: ${p} cannot be examined (${code}); set ${variable} to a writable directory`;
    }
    if (!st?.isDirectory()) {
      return `${variable}=${JSON.stringify(path)}: ${p} is not a directory; set ${variable} to a writable directory`;
    }
    try {
      accessSync(p, fsConstants.W_OK);
    } catch {
      return `${variable}=${JSON.stringify(path)}: ${p} is not writable by this user; set ${variable} to a writable directory`;
    }
    return undefined;
  }
}

/** Webhook secrets shorter than this are refused: guessable by brute force against the signature. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

export const REGION_BASE_URLS = {
  us: "https://api.wootric.com",
  eu: "https://api.wootric.eu",
  au: "https://api.wootric.au",
} as const;

/**
 * Bounds on traffic that has not been authenticated yet (bodies are read before their signature can be checked).
 * With the defaults the worst case held in memory is WEBHOOK_MAX_INFLIGHT_BYTES of bodies plus per-connection
 * buffers for HTTP_MAX_CONNECTIONS connections (measured: docs/hardening.md).
 */
export const DEFAULT_HTTP_LIMITS = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 5_000,
  maxInflightBodyBytes: 64 * 1024 * 1024,
  /** Longer than a load balancer's idle timeout (ALB: 60 s), so the balancer closes idle connections first. */
  keepAliveTimeoutMs: 65_000,
} as const;

/** Variable → schema. Keys are the exact environment variable names users set. */
const envSchema = z.object({
  // HTTP intake
  PORT: int(0, 65535, 8080),
  HOST: z.preprocess(
    (v) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v),
    z.string().refine(isListenHost, { message: "is neither an IP address nor a valid host name" }).default("0.0.0.0"),
  ),
  WOOTRIC_WEBHOOK_SECRET: optionalString,
  ALLOW_UNSIGNED_WEBHOOKS: bool(false),
  WEBHOOK_MAX_BYTES: int(1024, 64 * 1024 * 1024, 1024 * 1024),
  WEBHOOK_MAX_INFLIGHT_BYTES: int(1024, 16 * 1024 * 1024 * 1024, DEFAULT_HTTP_LIMITS.maxInflightBodyBytes),
  WEBHOOK_BODY_IDLE_TIMEOUT_MS: int(100, 600_000, DEFAULT_HTTP_LIMITS.bodyIdleTimeoutMs),
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000, DEFAULT_HTTP_LIMITS.maxConnections),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000, DEFAULT_HTTP_LIMITS.headersTimeoutMs),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000, DEFAULT_HTTP_LIMITS.requestTimeoutMs),

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
  FIREHOSE_MAX_RECORDS_PER_SECOND: int(1, 10_000_000, 80_000),
  FIREHOSE_MAX_BYTES_PER_SECOND: int(1024, 1024 * 1024 * 1024, 800 * 1024),
  FIREHOSE_MAX_REQUESTS_PER_SECOND: int(1, 100_000, 800),
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
  http: { port: number; host: string; maxBodyBytes: number; limits: HttpLimits };
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
        maxRecordsPerSecond: number;
        maxBytesPerSecond: number;
        maxRequestsPerSecond: number;
        maxInFlight: number;
      };
  state: StateLocation;
  shutdownTimeoutMs: number;
  log: { level: "error" | "warn" | "info" | "debug"; format: "auto" | "json" | "pretty" };
}

/** How to fix each variable, appended to its error message. */
const HINTS: Partial<Record<keyof Env, string>> = {
  PORT: "set PORT to a TCP port such as 8080",
  HOST: "set HOST to 0.0.0.0 (all IPv4 interfaces), :: (all interfaces), 127.0.0.1, or a name of this machine",
  POLL_CRON: 'five cron fields (minute hour day month weekday) in UTC, e.g. POLL_CRON="*/15 * * * *"',
  WOOTRIC_REGION: "set WOOTRIC_REGION=us, eu or au (or WOOTRIC_API_URL for another base URL)",
  WOOTRIC_API_URL: "set WOOTRIC_API_URL to the base URL that holds /oauth/token and /v1/..., or unset it",
  SYNC_START_DATE: "e.g. SYNC_START_DATE=2024-01-01, or unset it to read the whole history",
  FIREHOSE_STREAM_NAME: "use the delivery stream's name (terraform output firehose_stream_name), not its ARN",
  ALLOW_UNSIGNED_WEBHOOKS: "set ALLOW_UNSIGNED_WEBHOOKS=true only for local development",
  WEBHOOK_MAX_INFLIGHT_BYTES:
    "bytes of webhook bodies held at once before their signature is checked, e.g. 67108864 (64 MiB); at least WEBHOOK_MAX_BYTES",
  WEBHOOK_BODY_IDLE_TIMEOUT_MS: "milliseconds a body may pause before 408, e.g. 5000",
  HTTP_MAX_CONNECTIONS: "open connections accepted at once, e.g. 1024",
  HTTP_HEADERS_TIMEOUT_MS: "milliseconds to receive a request's headers before 408, e.g. 10000",
  HTTP_REQUEST_TIMEOUT_MS: "milliseconds to receive a whole request before 408, e.g. 30000",
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
  const generate =
    "generate one with `openssl rand -hex 32` and set the same value in Wootric → Settings → Outgoing Webhooks";
  if (e.WOOTRIC_WEBHOOK_SECRET !== undefined && secrets.length === 0) {
    problems.push(
      `WOOTRIC_WEBHOOK_SECRET holds only commas and blanks, no secret: set it to the secret token (comma-separate several during rotation), or unset it; ${generate}`,
    );
  }
  const short = secrets.filter((x) => x.length < MIN_WEBHOOK_SECRET_LENGTH).length;
  if (short > 0) {
    problems.push(
      `WOOTRIC_WEBHOOK_SECRET: ${short} of its ${secrets.length} secret(s) is shorter than ${MIN_WEBHOOK_SECRET_LENGTH} characters, short enough to guess; ${generate}`,
    );
  }

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

  const dirProblem = e.FIREHOSE_STREAM_NAME
    ? e.SPOOL_DIR !== undefined
      ? directoryProblem("SPOOL_DIR", e.SPOOL_DIR)
      : directoryProblem("DATA_DIR", e.DATA_DIR)
    : directoryProblem("DATA_DIR", e.DATA_DIR);
  if (dirProblem) problems.push(dirProblem);

  if (e.WEBHOOK_MAX_INFLIGHT_BYTES < e.WEBHOOK_MAX_BYTES) {
    problems.push(
      `WEBHOOK_MAX_INFLIGHT_BYTES=${e.WEBHOOK_MAX_INFLIGHT_BYTES} is smaller than WEBHOOK_MAX_BYTES=${e.WEBHOOK_MAX_BYTES}: no body of the largest size could ever be read; raise WEBHOOK_MAX_INFLIGHT_BYTES`,
    );
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS=${e.HTTP_HEADERS_TIMEOUT_MS} is longer than HTTP_REQUEST_TIMEOUT_MS=${e.HTTP_REQUEST_TIMEOUT_MS}: the headers are part of the request; lower it or raise HTTP_REQUEST_TIMEOUT_MS`,
    );
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
    http: {
      port: e.PORT,
      host: e.HOST,
      maxBodyBytes: e.WEBHOOK_MAX_BYTES,
      limits: {
        maxConnections: e.HTTP_MAX_CONNECTIONS,
        headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
        bodyIdleTimeoutMs: e.WEBHOOK_BODY_IDLE_TIMEOUT_MS,
        maxInflightBodyBytes: e.WEBHOOK_MAX_INFLIGHT_BYTES,
        keepAliveTimeoutMs: DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs,
      },
    },
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
