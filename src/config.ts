import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve as resolvePath } from "node:path";
import { z } from "zod";
import { isCalendarDate, isValidCron } from "./common/validate.js";

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
  z
    .preprocess(
      (v) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v),
      z
        .string()
        .regex(/^\d+$/, { message: "must be a whole number written in decimal digits" })
        .transform(Number)
        .pipe(z.number().int().min(min).max(max))
        .default(def),
    )
    .meta({
      accepts: max === Number.MAX_SAFE_INTEGER ? `an integer, at least ${min}` : `an integer from ${min} to ${max}`,
    });

const bool = (def: boolean) =>
  z
    .preprocess(
      emptyToUndefined,
      z
        .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
        .default(def ? "true" : "false")
        .transform((v) => v === "true" || v === "1" || v === "yes"),
    )
    .meta({ accepts: "`true` or `false` (also 1/0, yes/no)" });

const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** An optional ceiling: unset (the default) means none. Decimal digits only, like int. */
const optionalInt = (min: number, max: number) =>
  z
    .preprocess(
      (v) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v),
      z
        .string()
        .regex(/^\d+$/, { message: "must be a whole number written in decimal digits" })
        .transform(Number)
        .pipe(z.number().int().min(min).max(max))
        .optional(),
    )
    .meta({ accepts: `an integer from ${min} to ${max}` });

const isoDate = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: "must be a date written YYYY-MM-DD" })
    .refine(isCalendarDate, { message: "is not a real calendar date" })
    .optional(),
);

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
      const uid = process.getuid?.();
      const who = uid === undefined ? "this user" : `this user (uid ${uid})`;
      return `${variable}=${JSON.stringify(path)}: ${p} is not writable by ${who}; make it writable (the Docker image runs as uid 1000: for a bind mount, chown -R 1000:1000 the host directory) or set ${variable} to a writable directory`;
    }
    return undefined;
  }
}

/** Webhook secrets shorter than this are refused: guessable by brute force against the signature. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** What bounds unauthenticated traffic before a signature can be checked (HTTP_* and WEBHOOK_* variables). */
export interface HttpLimits {
  /** Open connections accepted at once; more are dropped by the kernel accept loop (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Time to receive a request's headers; 408 after it (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body; 408 after it (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest pause between two pieces of a body; 408 after it (WEBHOOK_BODY_IDLE_TIMEOUT_MS). */
  bodyIdleTimeoutMs: number;
  /** Body bytes held by requests not answered yet, all requests together; 503 beyond (WEBHOOK_MAX_INFLIGHT_BYTES). */
  maxInflightBodyBytes: number;
  /** Idle keep-alive time; longer than a load balancer's (ALB: 60 s) so the balancer closes first. */
  keepAliveTimeoutMs: number;
}

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

export const REGION_BASE_URLS = {
  us: "https://api.wootric.com",
  eu: "https://api.wootric.eu",
  au: "https://api.wootric.au",
} as const;

/** The groups of the configuration reference (docs/configuration.md), in the order it lists them. */
export const CONFIG_GROUPS = {
  http: "HTTP and webhooks",
  wootric: "Wootric API and polling",
  firehose: "Firehose and spool",
  files: "Local files and state",
  process: "Shutdown and logging",
} as const;

export interface ConfigVariable {
  group: keyof typeof CONFIG_GROUPS;
  schema: z.ZodType;
  /** One sentence users read in the configuration reference. */
  meaning: string;
  /** What values are accepted, when the schema's metadata does not say (see int and bool above). */
  accepts?: string;
  /** What happens when the variable is unset and the schema has no default value. */
  unset?: string;
  /** How to fix a wrong value, appended to its error message. */
  fix?: string;
}

/**
 * The one table of settings: keys are the exact environment variable names users set. The env schema below is
 * derived from it, and so is docs/configuration.md (`npm run gen:docs`, checked by test/unit/config-reference.test.ts).
 */
export const CONFIG_VARIABLES = {
  PORT: {
    group: "http",
    schema: int(0, 65535, 8080),
    meaning: "TCP port the HTTP server listens on (webhooks, health, metrics); 0 picks a free port.",
    fix: "set PORT to a TCP port such as 8080",
  },
  HOST: {
    group: "http",
    schema: z.preprocess(
      (v) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v),
      z.string().refine(isListenHost, { message: "is neither an IP address nor a valid host name" }).default("0.0.0.0"),
    ),
    fix: "set HOST to 0.0.0.0 (all IPv4 interfaces), :: (all interfaces), 127.0.0.1, or a name of this machine",
    accepts: "an address or host name",
    meaning: "Address the HTTP server listens on; `127.0.0.1` keeps it local to the machine.",
  },
  WOOTRIC_WEBHOOK_SECRET: {
    group: "http",
    schema: optionalString,
    accepts: "one secret, or several separated by commas",
    unset:
      "none (file sink: a development secret is generated in `DATA_DIR/webhook-secret`; Firehose sink: refuses to start)",
    meaning:
      "Secret token from Wootric's Settings → Outgoing Webhooks that signs every delivery, at least 16 characters; comma-separate the old and the new secret during a rotation.",
  },
  ALLOW_UNSIGNED_WEBHOOKS: {
    group: "http",
    schema: bool(false),
    meaning:
      "`true` accepts webhooks without an `X-Wootric-Signature` header (a signature that is present must still match): for local development only, and logged loudly.",
    fix: "set ALLOW_UNSIGNED_WEBHOOKS=true only for local development",
  },
  WEBHOOK_MAX_BYTES: {
    group: "http",
    schema: int(1024, 64 * 1024 * 1024, 1024 * 1024),
    meaning: "Largest webhook body accepted, in bytes; a larger one is answered 413 and not stored.",
  },
  WEBHOOK_MAX_INFLIGHT_BYTES: {
    group: "http",
    schema: int(1024, 16 * 1024 * 1024 * 1024, DEFAULT_HTTP_LIMITS.maxInflightBodyBytes),
    meaning:
      "Bytes of webhook bodies held in memory at once before their signature is checked; beyond it new bodies get 503 with `Retry-After` (at least `WEBHOOK_MAX_BYTES`).",
    fix: "bytes of webhook bodies held at once before their signature is checked, e.g. 67108864 (64 MiB); at least WEBHOOK_MAX_BYTES",
  },
  WEBHOOK_BODY_IDLE_TIMEOUT_MS: {
    group: "http",
    schema: int(100, 600_000, DEFAULT_HTTP_LIMITS.bodyIdleTimeoutMs),
    meaning: "Milliseconds a request body may pause between bytes before the request is answered 408.",
    fix: "milliseconds a body may pause before 408, e.g. 5000",
  },
  HTTP_MAX_CONNECTIONS: {
    group: "http",
    schema: int(1, 1_000_000, DEFAULT_HTTP_LIMITS.maxConnections),
    meaning: "Open connections accepted at once; more are refused until one closes.",
    fix: "open connections accepted at once, e.g. 1024",
  },
  HTTP_HEADERS_TIMEOUT_MS: {
    group: "http",
    schema: int(100, 600_000, DEFAULT_HTTP_LIMITS.headersTimeoutMs),
    meaning:
      "Milliseconds to receive a request's headers before it is answered 408 (at most `HTTP_REQUEST_TIMEOUT_MS`).",
    fix: "milliseconds to receive a request's headers before 408, e.g. 10000",
  },
  HTTP_REQUEST_TIMEOUT_MS: {
    group: "http",
    schema: int(100, 3_600_000, DEFAULT_HTTP_LIMITS.requestTimeoutMs),
    meaning: "Milliseconds to receive a whole request before it is answered 408.",
    fix: "milliseconds to receive a whole request before 408, e.g. 30000",
  },

  WOOTRIC_CLIENT_ID: {
    group: "wootric",
    schema: optionalString,
    accepts: "the client id from Wootric's Settings → API",
    unset: "none (webhooks only, no polling)",
    meaning:
      "Wootric API client id; together with `WOOTRIC_CLIENT_SECRET` it turns the poller on (set both or neither).",
  },
  WOOTRIC_CLIENT_SECRET: {
    group: "wootric",
    schema: optionalString,
    accepts: "the client secret from Wootric's Settings → API",
    unset: "none (webhooks only, no polling)",
    meaning: "Wootric API client secret, used with `WOOTRIC_CLIENT_ID` to obtain OAuth tokens; never logged.",
  },
  WOOTRIC_REGION: {
    group: "wootric",
    schema: z.preprocess(
      (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
      z.enum(["us", "eu", "au"], { message: "must be one of us, eu, au" }).default("us"),
    ),
    accepts: "`us`, `eu` or `au`",
    meaning:
      "Region of the Wootric account, which picks the API host: `https://api.wootric.com`, `https://api.wootric.eu` or `https://api.wootric.au`.",
    fix: "set WOOTRIC_REGION=us, eu or au (or WOOTRIC_API_URL for another base URL)",
  },
  WOOTRIC_API_URL: {
    group: "wootric",
    schema: z.preprocess(
      emptyToUndefined,
      z.url({ message: "must be an absolute http(s) URL such as https://api.wootric.com" }).optional(),
    ),
    accepts: "an absolute http(s) URL",
    unset: "the host of `WOOTRIC_REGION`",
    meaning:
      "Base URL that holds `/oauth/token` and `/v1/...`; overrides `WOOTRIC_REGION` (for a proxy or a test server).",
    fix: "set WOOTRIC_API_URL to the base URL that holds /oauth/token and /v1/..., or unset it",
  },
  POLL_CRON: {
    group: "wootric",
    schema: z.preprocess(
      emptyToUndefined,
      z.string().default("*/15 * * * *").refine(isValidCron, { message: "is not a valid cron expression" }),
    ),
    accepts: "five cron fields (minute hour day month weekday), UTC",
    meaning: "When `serve` runs a sync, in UTC; it also runs one a second after start.",
    fix: 'five cron fields (minute hour day month weekday) in UTC, e.g. POLL_CRON="*/15 * * * *"',
  },
  RECONCILE_CRON: {
    group: "wootric",
    schema: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .default("17 3 * * *")
        .refine((v) => v.trim().toLowerCase() === "off" || isValidCron(v), {
          message: 'is not a valid cron expression (or "off")',
        }),
    ),
    accepts: "five cron fields (minute hour day month weekday), UTC, or `off`",
    meaning:
      "When `serve` runs a full reconciliation (every stream's whole history: old edits, backdated imports, deletions); `off` disables it.",
    fix: 'five cron fields in UTC, e.g. RECONCILE_CRON="17 3 * * *" (daily at 03:17), or "off" to disable it',
  },
  SYNC_START_DATE: {
    group: "wootric",
    schema: isoDate,
    accepts: "a date, `YYYY-MM-DD`",
    unset: "none (the whole history, from the Unix epoch)",
    meaning: "Where a stream's first sync starts reading; later syncs continue from the stream's bookmark.",
    fix: "e.g. SYNC_START_DATE=2024-01-01, or unset it to read the whole history",
  },
  SYNC_SETTLE_SECONDS: {
    group: "wootric",
    schema: int(0, 3600, 5),
    meaning: "A sync reads up to now minus this many seconds, so records still being written are not skipped.",
  },
  LOOKBACK_DAYS: {
    group: "wootric",
    schema: int(0, 366, 7),
    meaning:
      "Every sync re-reads responses and declines created this many days back (and recomputes as many days of NPS summary, at least 2) to catch late edits and backdated records.",
  },
  LEASE_TTL_SECONDS: {
    group: "wootric",
    schema: int(10, 86400, 300),
    meaning:
      "Lifetime of the lease that lets one replica poll at a time; its holder renews it every third of this, and a dead holder blocks the others this long.",
  },

  FIREHOSE_STREAM_NAME: {
    group: "firehose",
    schema: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[a-zA-Z0-9_.-]{1,64}$/, { message: "must be 1-64 characters of letters, digits, _ . -" })
        .optional(),
    ),
    accepts: "a delivery stream name (not its ARN)",
    unset: "none (records go to gzip files under `DATA_DIR`)",
    meaning: "Firehose Direct PUT delivery stream that receives every record, through the spool.",
    fix: "use the delivery stream's name (terraform output firehose_stream_name), not its ARN",
  },
  DATA_DIR: {
    group: "files",
    schema: z.preprocess(emptyToUndefined, z.string().default("./data")),
    accepts: "a directory",
    meaning:
      "Output of the file sink, home of the development webhook secret, and the default parent of the spool and the state.",
  },
  STATE_URL: {
    group: "files",
    schema: optionalString,
    accepts: "`s3://bucket/prefix`, `file:///path` or a directory",
    unset: "`DATA_DIR/_state`",
    meaning: "Where the poller keeps its bookmarks and its lease; use S3 when several replicas run.",
  },
  SPOOL_DIR: {
    group: "firehose",
    schema: optionalString,
    accepts: "a directory on persistent storage",
    unset: "`DATA_DIR/_spool`",
    meaning:
      "The local write-ahead spool in front of Firehose: records are fsynced here before they are acknowledged, and one process owns it.",
  },
  SPOOL_MAX_BYTES: {
    group: "firehose",
    schema: int(1024 * 1024, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
    meaning:
      "Disk cap of the spool; when it is full, webhooks are answered 503 and the poller's bookmarks do not advance.",
  },
  DEAD_LETTER_URL: {
    group: "firehose",
    schema: optionalString,
    accepts: "`s3://bucket/prefix`",
    unset: "none (a record too large for Firehose stays in the spool, and `/readyz` says why)",
    meaning: "Where single records too large for Firehose (over 1,024,000 bytes) are written with `PutObject`.",
  },
  DATA_URL: {
    group: "firehose",
    schema: optionalString,
    accepts: "`s3://bucket/<data prefix>`",
    unset: "none (`replay` reads only local dead letters and `DEAD_LETTER_URL`)",
    meaning:
      "Where Firehose lands the records; `replay` reads the dead letters under its `entity=dead_letter/` (see docs/replay.md).",
  },
  FIREHOSE_ERROR_URL: {
    group: "firehose",
    schema: optionalString,
    accepts: "`s3://bucket/<error prefix>/firehose`",
    unset: "none (`replay --redrive` has nothing to read)",
    meaning: "Firehose's error output prefix; `replay --redrive` sends the records it holds back into the stream.",
  },
  FIREHOSE_LINGER_MS: {
    group: "firehose",
    schema: int(0, 60_000, 200),
    meaning: "How long a batch that is not full waits for more records before it is sent.",
  },
  FIREHOSE_MAX_RECORDS_PER_SECOND: {
    group: "firehose",
    schema: optionalInt(1, 10_000_000),
    unset: "none: the send rate adapts to the stream's throttling (docs/throughput.md)",
    meaning: "Optional ceiling on the adaptive send rate, in records per second.",
  },
  FIREHOSE_MAX_BYTES_PER_SECOND: {
    group: "firehose",
    schema: optionalInt(1024, 1024 * 1024 * 1024),
    unset: "none: the send rate adapts to the stream's throttling (docs/throughput.md)",
    meaning: "Optional ceiling on the adaptive send rate, in bytes per second.",
    fix: "unset it to let the producer find the stream's quota by itself, or give a ceiling in bytes per second",
  },
  FIREHOSE_MAX_REQUESTS_PER_SECOND: {
    group: "firehose",
    schema: optionalInt(1, 100_000),
    unset: "none: the send rate adapts to the stream's throttling (docs/throughput.md)",
    meaning: "Optional ceiling on the adaptive send rate, in `PutRecordBatch` calls per second.",
  },
  FIREHOSE_MAX_IN_FLIGHT: {
    group: "firehose",
    schema: int(1, 64, 4),
    meaning: "How many `PutRecordBatch` calls may run at once (each holds at most 4 MB in memory).",
  },
  FILE_ROTATE_BYTES: {
    group: "files",
    schema: int(1024, Number.MAX_SAFE_INTEGER, 64 * 1024 * 1024),
    meaning: "File sink: a file is closed and renamed to `.json.gz` once it holds this many compressed bytes.",
  },
  FILE_ROTATE_SECONDS: {
    group: "files",
    schema: int(1, 86400, 60),
    meaning: "File sink: a file is closed and renamed to `.json.gz` this many seconds after it was opened.",
  },
  SHUTDOWN_TIMEOUT_MS: {
    group: "process",
    schema: int(0, 3_600_000, 20_000),
    meaning:
      "How long a shutdown may spend finishing requests and flushing the sink; keep it below the orchestrator's grace period.",
  },

  EMF_METRICS: {
    group: "process",
    schema: bool(false),
    meaning:
      "`true` prints the service's metrics as CloudWatch Embedded Metric Format lines on stdout, which CloudWatch Logs turns into metrics (the Terraform module sets it on ECS).",
    fix: "set EMF_METRICS=true to print CloudWatch Embedded Metric Format lines on stdout (on ECS with awslogs)",
  },
  EMF_NAMESPACE: {
    group: "process",
    schema: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[^:][^:]{0,254}$/, { message: "must be 1-255 characters without ':'" })
        .default("WootricFirehose"),
    ),
    accepts: "1-255 characters without `:`",
    meaning: "CloudWatch namespace of the EMF metrics.",
  },
  EMF_SERVICE_NAME: {
    group: "process",
    schema: z.preprocess(emptyToUndefined, z.string().max(1024).default("wootric-firehose")),
    accepts: "up to 1,024 characters",
    meaning: "Value of the `Service` dimension of every EMF metric (the Terraform module uses its name prefix).",
  },
  EMF_INTERVAL_SECONDS: {
    group: "process",
    schema: int(1, 3600, 60),
    meaning: "How often the EMF metrics are printed; counters are sums over the interval.",
  },
  LOG_LEVEL: {
    group: "process",
    schema: z.preprocess(
      (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
      z
        .enum(["error", "warn", "info", "debug"], { message: "must be one of error, warn, info, debug" })
        .default("info"),
    ),
    accepts: "`error`, `warn`, `info` or `debug`",
    meaning: "The least severe log level written.",
  },
  LOG_FORMAT: {
    group: "process",
    schema: z.preprocess(
      (v) => (typeof emptyToUndefined(v) === "string" ? String(v).toLowerCase() : undefined),
      z.enum(["auto", "json", "pretty"], { message: "must be one of auto, json, pretty" }).default("auto"),
    ),
    accepts: "`auto`, `json` or `pretty`",
    meaning: "Log format: `auto` is pretty when stderr is a terminal and JSON lines otherwise.",
  },
} as const satisfies Record<string, ConfigVariable>;

export type ConfigVariableName = keyof typeof CONFIG_VARIABLES;

const envSchema = z.object(
  Object.fromEntries(Object.entries(CONFIG_VARIABLES).map(([name, v]) => [name, v.schema])) as {
    [K in ConfigVariableName]: (typeof CONFIG_VARIABLES)[K]["schema"];
  },
);

type Env = z.infer<typeof envSchema>;

export type S3Location = { bucket: string; prefix: string };

export type StateLocation = { kind: "s3"; bucket: string; prefix: string } | { kind: "dir"; path: string };

export interface Config {
  http: { port: number; host: string; maxBodyBytes: number; limits: HttpLimits };
  webhook: { secrets: string[]; allowUnsigned: boolean };
  wootric: { clientId: string; clientSecret: string; baseUrl: string } | undefined;
  poll: {
    cron: string;
    /** The full reconciliation's schedule in serve; undefined when RECONCILE_CRON=off. */
    reconcileCron: string | undefined;
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
  /** Where `replay` finds Firehose-delivered dead letters (DATA_URL) and Firehose's own error output. */
  replay: { dataUrl: S3Location | undefined; firehoseErrorUrl: S3Location | undefined };
  shutdownTimeoutMs: number;
  emf: { enabled: boolean; namespace: string; service: string; intervalMs: number };
  log: { level: "error" | "warn" | "info" | "debug"; format: "auto" | "json" | "pretty" };
}

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
      const hint = (CONFIG_VARIABLES[name] as ConfigVariable | undefined)?.fix;
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

  const s3Var = (name: "DATA_URL" | "FIREHOSE_ERROR_URL", what: string): S3Location | undefined => {
    const raw = e[name];
    if (raw === undefined) return undefined;
    const parsed = parseS3Url(raw);
    if (!parsed) problems.push(`${name} must look like s3://bucket/prefix (${what})`);
    return parsed;
  };
  const replay = {
    dataUrl: s3Var("DATA_URL", "where Firehose lands the records: the bucket and data prefix"),
    firehoseErrorUrl: s3Var("FIREHOSE_ERROR_URL", "Firehose's error output: the bucket and <error prefix>/firehose"),
  };

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
      reconcileCron: e.RECONCILE_CRON.trim().toLowerCase() === "off" ? undefined : e.RECONCILE_CRON,
      startDate: e.SYNC_START_DATE,
      settleSeconds: e.SYNC_SETTLE_SECONDS,
      lookbackDays: e.LOOKBACK_DAYS,
      leaseTtlSeconds: e.LEASE_TTL_SECONDS,
    },
    sink,
    state: state as StateLocation,
    replay,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    emf: {
      enabled: e.EMF_METRICS,
      namespace: e.EMF_NAMESPACE,
      service: e.EMF_SERVICE_NAME,
      intervalMs: e.EMF_INTERVAL_SECONDS * 1000,
    },
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
