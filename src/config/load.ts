import { httpLimitProblems, splitSecrets, webhookSecretProblems, writableDirectoryProblem } from "./checks.js";
import { ConfigError } from "./error.js";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http-limits.js";
import { parseS3Url, parseStateUrl, type S3Location, type StateLocation } from "./locations.js";
import { CONFIG_VARIABLES, type ConfigVariable, type Env, envSchema, REGION_BASE_URLS } from "./variables.js";

/**
 * Every setting comes from the environment and is validated here, once, at start-up.
 * A wrong value fails fast with a message that names the variable and says how to fix it.
 */

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
  problems.push(...webhookSecretProblems(e.WOOTRIC_WEBHOOK_SECRET, secrets));

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

  const dirProblem = writableDirectoryProblem(e);
  if (dirProblem) problems.push(dirProblem);

  problems.push(...httpLimitProblems(e));

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
