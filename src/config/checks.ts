import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { ConfigError } from "./error.js";
import type { Config } from "./load.js";
import type { Env } from "./variables.js";

/** The checks one variable's schema cannot make: values that must agree with each other, and the file system. */

/** Why a directory setting cannot work (a file where a directory must be, not writable), or undefined. */
export function directoryProblem(variable: string, path: string): string | undefined {
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

export function splitSecrets(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** WOOTRIC_WEBHOOK_SECRET set to nothing but separators, or holding a secret too short to resist guessing. */
export function webhookSecretProblems(raw: string | undefined, secrets: string[]): string[] {
  const problems: string[] = [];
  const generate =
    "generate one with `openssl rand -hex 32` and set the same value in Wootric → Settings → Outgoing Webhooks";
  if (raw !== undefined && secrets.length === 0) {
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
  return problems;
}

/** The directory this configuration writes to first: the spool with Firehose (SPOOL_DIR if set), else DATA_DIR. */
export function writableDirectoryProblem(e: Env): string | undefined {
  return e.FIREHOSE_STREAM_NAME
    ? e.SPOOL_DIR !== undefined
      ? directoryProblem("SPOOL_DIR", e.SPOOL_DIR)
      : directoryProblem("DATA_DIR", e.DATA_DIR)
    : directoryProblem("DATA_DIR", e.DATA_DIR);
}

/** HTTP bounds that contradict each other. */
export function httpLimitProblems(e: Env): string[] {
  const problems: string[] = [];
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
  return problems;
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
