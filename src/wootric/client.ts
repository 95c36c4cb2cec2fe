import { fullJitterDelay } from "../common/backoff.js";
import { type Clock, systemClock, withTimeoutSignal } from "../common/clock.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import {
  describeNetworkError,
  WootricApiError,
  WootricAuthError,
  WootricUnavailableError,
  WootricUnreachableError,
} from "./errors.js";
import { RateLimitPacer } from "./rate-limit.js";

export type QueryParams = Record<string, string | number>;

export interface WootricClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  clock?: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** Attempts for 5xx and network errors (first try included). */
  maxAttempts?: number;
  /**
   * Attempts for a token request that gets no HTTP answer at all (refused, DNS, TLS) before the run is stopped as
   * unreachable: a few, to ride out a blip, not the full maxAttempts that every stream would otherwise repeat.
   */
  unreachableAttempts?: number;
  /** Consecutive 429s tolerated for one request before giving up. */
  max429s?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  requestTimeoutMs?: number;
  random?: () => number;
  /** Observers for progress displays. */
  onRequest?: (endpoint: string, status: number | "network") => void;
  onWait?: (ms: number, reason: "rate_limit" | "429" | "backoff") => void;
}

interface Token {
  value: string;
  refreshAtMs: number;
}

/** Refresh this long before `expires_in` (7200 s per docs.wootric.com/api) runs out, as singer-io/tap-wootric does. */
const REFRESH_EARLY_S = 60;

/**
 * Wootric REST client: OAuth2 client_credentials with a cached token (refreshed 60 s before it expires and once
 * on a 401), explicit query strings only, retries with exponential backoff and full jitter on 5xx and network
 * errors, and 429-avoidance by pacing from the X-Rate-Limit-* headers.
 */
export class WootricClient {
  private token: Token | undefined;
  private tokenInFlight: Promise<Token> | undefined;
  private readonly pacer = new RateLimitPacer();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly metricRequests;
  private readonly metric429;
  private readonly metricWait;
  private readonly metricTokens;
  /** Totals for progress displays and benchmarks. */
  readonly stats = { requests: 0, rateLimited: 0, waitMs: 0, tokens: 0 };

  constructor(private readonly opts: WootricClientOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    const m = opts.metrics;
    this.metricRequests = m?.counter(
      "wootric_requests_total",
      "Requests to the Wootric API by endpoint and HTTP status",
      ["endpoint", "status"],
    );
    this.metric429 = m?.counter("wootric_rate_limited_total", "429 answers from the Wootric API", ["endpoint"]);
    this.metricWait = m?.counter(
      "wootric_rate_limit_wait_seconds_total",
      "Seconds spent waiting for the Wootric rate limit (pacing and 429s)",
      ["reason"],
    );
    this.metricTokens = m?.counter("wootric_tokens_total", "OAuth tokens obtained from Wootric", []);
  }

  /** GET a JSON document. Throws WootricApiError (not retryable), WootricAuthError or WootricUnavailableError. */
  async getJson(path: string, params: QueryParams = {}, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(this.opts.baseUrl + path);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    const maxAttempts = this.opts.maxAttempts ?? 8;
    const max429s = this.opts.max429s ?? 30;
    let failures = 0;
    let rateLimited = 0;
    let refreshedAfter401 = false;
    let lastError: unknown;
    for (;;) {
      signal?.throwIfAborted();
      const pace = this.pacer.delayBeforeNext(this.clock.now());
      if (pace > 0) {
        await this.wait(pace, "rate_limit", signal);
        this.pacer.windowPassed();
      }
      const token = await this.getToken(signal);
      let res: Response;
      let text: string;
      try {
        [res, text] = await this.withRequestSignal(signal, async (s) => {
          const r = await fetch(url, {
            headers: { Authorization: `Bearer ${token.value}`, Accept: "application/json" },
            signal: s,
          });
          return [r, await r.text()] as const;
        });
      } catch (err) {
        signal?.throwIfAborted();
        this.count(path, "network");
        lastError = err;
        failures += 1;
        if (failures >= maxAttempts) break;
        await this.backoff(failures, path, `network error: ${describeNetworkError(err)}`, signal);
        continue;
      }
      this.count(path, res.status);
      this.pacer.observe(res.headers);
      if (res.ok) {
        try {
          return text === "" ? null : (JSON.parse(text) as unknown);
        } catch {
          throw new WootricApiError(
            `GET ${path} answered ${res.status} with a body that is not JSON`,
            res.status,
            path,
            text.slice(0, 500),
          );
        }
      }
      if (res.status === 401 && !refreshedAfter401) {
        refreshedAfter401 = true;
        this.invalidateToken(token);
        this.opts.logger.info("wootric token refused (401); obtaining a new one", { endpoint: path });
        continue;
      }
      if (res.status === 401)
        throw new WootricAuthError(
          `GET ${path}: a freshly obtained token was refused (401); check the API credentials`,
        );
      if (res.status === 429) {
        rateLimited += 1;
        this.stats.rateLimited += 1;
        this.metric429?.inc({ endpoint: path });
        if (rateLimited > max429s)
          throw new WootricUnavailableError(`GET ${path}: still rate limited (429) after ${max429s} waits`);
        const ms = this.pacer.waitAfter429(res.headers, this.clock.now());
        this.opts.logger.warn("wootric rate limit hit (429); waiting for the reset", {
          endpoint: path,
          wait_ms: Math.round(ms),
        });
        await this.wait(ms, "429", signal);
        this.pacer.windowPassed();
        continue;
      }
      if (res.status >= 500 || res.status === 408) {
        lastError = new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        failures += 1;
        if (failures >= maxAttempts) break;
        await this.backoff(failures, path, `HTTP ${res.status}`, signal);
        continue;
      }
      throw new WootricApiError(
        `GET ${path} answered ${res.status}: ${text.slice(0, 300)}`,
        res.status,
        path,
        text.slice(0, 2000),
      );
    }
    throw new WootricUnavailableError(
      `GET ${path} failed after ${maxAttempts} attempts: ${describeNetworkError(lastError)}`,
      { cause: lastError },
    );
  }

  /** The current token, obtaining one when there is none or it is within 60 s of expiring. */
  async getToken(signal?: AbortSignal): Promise<Token> {
    if (this.token && this.clock.now() < this.token.refreshAtMs) return this.token;
    this.tokenInFlight ??= this.fetchToken(signal).finally(() => {
      this.tokenInFlight = undefined;
    });
    this.token = await this.tokenInFlight;
    return this.token;
  }

  private invalidateToken(token: Token): void {
    if (this.token === token) this.token = undefined;
  }

  private async fetchToken(signal?: AbortSignal): Promise<Token> {
    const endpoint = "/oauth/token";
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.opts.clientId,
      client_secret: this.opts.clientSecret,
    });
    const maxAttempts = this.opts.maxAttempts ?? 8;
    const unreachableAttempts = Math.min(maxAttempts, this.opts.unreachableAttempts ?? 3);
    let unanswered = 0;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      signal?.throwIfAborted();
      let res: Response;
      let text: string;
      try {
        [res, text] = await this.withRequestSignal(signal, async (s) => {
          const r = await fetch(this.opts.baseUrl + endpoint, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
            body,
            signal: s,
          });
          return [r, await r.text()] as const;
        });
      } catch (err) {
        signal?.throwIfAborted();
        this.count(endpoint, "network");
        lastError = err;
        unanswered += 1;
        if (unanswered >= unreachableAttempts) {
          throw new WootricUnreachableError(
            `cannot reach the Wootric API at ${this.opts.baseUrl} (${describeNetworkError(err)}); check WOOTRIC_API_URL / WOOTRIC_REGION and the network`,
            { cause: err },
          );
        }
        await this.backoff(attempt, endpoint, `network error: ${describeNetworkError(err)}`, signal);
        continue;
      }
      this.count(endpoint, res.status);
      if (res.ok) {
        let parsed: { access_token?: unknown; expires_in?: unknown };
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          throw new WootricAuthError(`the token endpoint answered ${res.status} with a body that is not JSON`);
        }
        if (typeof parsed.access_token !== "string" || parsed.access_token === "") {
          throw new WootricAuthError("the token endpoint answered without an access_token");
        }
        const expiresIn = Number(parsed.expires_in);
        const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 7200;
        const early = lifetime > 2 * REFRESH_EARLY_S ? REFRESH_EARLY_S : lifetime / 2;
        this.stats.tokens += 1;
        this.metricTokens?.inc();
        return { value: parsed.access_token, refreshAtMs: this.clock.now() + (lifetime - early) * 1000 };
      }
      if (res.status >= 500 || res.status === 429) {
        lastError = new Error(`HTTP ${res.status}`);
        if (attempt < maxAttempts) {
          if (res.status === 429)
            await this.wait(this.pacer.waitAfter429(res.headers, this.clock.now()), "429", signal);
          else await this.backoff(attempt, endpoint, `HTTP ${res.status}`, signal);
        }
        continue;
      }
      // The reply body is never shown: a server that echoes the request would show the client secret.
      const code = oauthErrorCode(text);
      throw new WootricAuthError(
        `the token endpoint refused the credentials (HTTP ${res.status}${code ? `, ${code}` : ""}); check WOOTRIC_CLIENT_ID / WOOTRIC_CLIENT_SECRET (Wootric → Settings → API) and the region`,
      );
    }
    throw new WootricUnavailableError(
      `could not obtain a Wootric token after ${maxAttempts} attempts: ${(lastError as Error)?.message ?? lastError}`,
      { cause: lastError },
    );
  }

  private withRequestSignal<T>(signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> {
    return withTimeoutSignal(signal, this.opts.requestTimeoutMs ?? 60_000, fn);
  }

  private count(endpoint: string, status: number | "network"): void {
    this.stats.requests += 1;
    this.metricRequests?.inc({ endpoint, status: String(status) });
    this.opts.onRequest?.(endpoint, status);
  }

  private async backoff(attempt: number, endpoint: string, why: string, signal?: AbortSignal): Promise<void> {
    const base = this.opts.backoffBaseMs ?? 500;
    const cap = this.opts.backoffCapMs ?? 30_000;
    const ms = fullJitterDelay(attempt - 1, base, cap, this.random);
    this.opts.logger.warn("wootric request failed; retrying", { endpoint, reason: why, attempt, wait_ms: ms });
    await this.wait(ms, "backoff", signal);
  }

  private async wait(ms: number, reason: "rate_limit" | "429" | "backoff", signal?: AbortSignal): Promise<void> {
    if (reason !== "backoff") {
      this.stats.waitMs += ms;
      this.metricWait?.inc({ reason }, ms / 1000);
    }
    this.opts.onWait?.(ms, reason);
    await this.clock.sleep(ms, signal);
  }
}

/** The OAuth `error` code of a token reply (RFC 6749 §5.2, e.g. invalid_client): a bare word, safe to show. */
function oauthErrorCode(text: string): string | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    return typeof error === "string" && /^[a-z_]{1,64}$/.test(error) ? error : undefined;
  } catch {
    return undefined;
  }
}
