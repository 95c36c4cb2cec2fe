import { z } from "zod";
import { isValidCron } from "../common/validate.js";
import { DEFAULT_HTTP_LIMITS } from "./http-limits.js";
import { bool, emptyToUndefined, int, isListenHost, isoDate, optionalInt, optionalString } from "./schema.js";

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

export const envSchema = z.object(
  Object.fromEntries(Object.entries(CONFIG_VARIABLES).map(([name, v]) => [name, v.schema])) as {
    [K in ConfigVariableName]: (typeof CONFIG_VARIABLES)[K]["schema"];
  },
);

export type Env = z.infer<typeof envSchema>;
