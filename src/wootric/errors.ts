import { SyncError } from "../common/errors.js";

/** A Wootric answer that retrying will not fix (4xx other than 401/429, or a body that is not what was documented). */
export class WootricApiError extends SyncError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly endpoint: string,
    readonly body?: string,
  ) {
    super(message, false);
  }
}

/** The token endpoint refused the client id / secret, or a fresh token was refused too: every stream would fail. */
export class WootricAuthError extends SyncError {
  constructor(message: string) {
    super(message, true);
  }
}

/** Retries ran out (5xx, network errors, or a 429 storm longer than the client will wait). */
export class WootricUnavailableError extends SyncError {
  constructor(message: string, options?: { cause?: unknown; fatal?: boolean }) {
    super(message, options?.fatal ?? false, options);
  }
}

/**
 * The token request got no HTTP answer at all (connection refused, DNS, TLS): no stream can read anything, so the
 * run stops at once instead of every stream retrying on its own.
 */
export class WootricUnreachableError extends WootricUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, fatal: true });
  }
}

/**
 * The real reason a fetch failed. Node's fetch rejects with "fetch failed" and keeps the socket error in `cause`
 * (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...), sometimes nested in an
 * AggregateError when several addresses were tried.
 */
export function describeNetworkError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 4; depth += 1) {
    const e = cur as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    const code = typeof e.code === "string" ? e.code : undefined;
    const message = typeof e.message === "string" ? e.message : String(cur);
    if (code || depth > 0 || message !== "fetch failed")
      parts.push(code && !message.includes(code) ? `${code}: ${message}` : message);
    cur = e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return parts.length > 0 ? parts.join(" <- ") : "fetch failed";
}
