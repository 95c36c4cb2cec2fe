import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Clock, systemClock } from "../../src/common/clock.js";

/**
 * A faithful fake of the Wootric REST API v1 (reference: shared/reference/wootric-api.md), served over real HTTP on
 * loopback. What it reproduces, and the tests lean on:
 *  - POST /oauth/token (client_credentials, form-urlencoded) issuing bearer tokens that expire after expires_in;
 *    expired, revoked or unknown tokens get 401.
 *  - List endpoints /v1/end_users, /v1/responses, /v1/declines: bare JSON arrays, page (default 1, max 30: beyond
 *    it HTTP 400 {"errors":[{"message":"page does not have a valid value"}]}), per_page (default 25, silently capped
 *    at 50), created[eq|lt|lte|gt|gte] on all three, updated[...] on end_users only (ignored elsewhere, as an API
 *    may silently ignore unknown filters), the documented default sorts (end_users: email asc; responses/declines:
 *    created desc), sort_key (end_users: email|created_at|updated_at; responses/declines: created_at, anything else
 *    ignored), sort_order, and ties broken in an undefined but stable order (a hash of the id, not the id).
 *  - Timestamps as "YYYY-MM-DD HH:MM:SS -0800", one-second resolution.
 *  - Per-account rate limit per window (100/min in the docs) with X-Rate-Limit-Limit/Remaining/Reset on every /v1
 *    answer and 429 when exceeded; `storm(n)` forces n 429s.
 *  - /v1/segments, /v1/survey_templates, /v1/nps_summary (date[start], date[end], computed from the responses,
 *    days in the account's -0800 zone).
 * Time comes from an injected Clock, so rate windows and token lifetimes can be compressed for tests.
 */

export interface FakeRecord {
  id: number;
  created: number;
  updated: number;
  [field: string]: unknown;
}

export interface FakeWootricOptions {
  clock?: Clock;
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
  /** Requests allowed per window; undefined = no limit headers at all (an unlimited endpoint). */
  rateLimit?: { limit: number; windowSeconds: number };
  /** Account time zone offset, minutes east of UTC (-480 = -0800). */
  utcOffsetMinutes?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

type ListName = "end_users" | "responses" | "declines";
const OPS = ["eq", "lt", "lte", "gt", "gte"] as const;
const PAGE_ERROR = { errors: [{ message: "page does not have a valid value" }] };

/** A stable, id-unrelated tie-break (Knuth multiplicative hash). */
const tieKey = (id: number) => Math.imul(id, 2654435761) >>> 0;

export class FakeWootric {
  readonly clock: Clock;
  readonly clientId: string;
  readonly clientSecret: string;
  tokenTtlSeconds: number;
  rateLimit: { limit: number; windowSeconds: number } | undefined;
  readonly offsetMin: number;
  readonly lists: Record<ListName, Map<number, FakeRecord>> = {
    end_users: new Map(),
    responses: new Map(),
    declines: new Map(),
  };
  segments: { name: string; data_type: string; created: number }[] = [];
  surveyTemplates: Record<string, unknown>[] = [];
  readonly log: LoggedRequest[] = [];
  private readonly tokens = new Map<string, number>();
  private server: Server | undefined;
  private window = { start: 0, used: 0 };
  private stormLeft = 0;
  private stormWithoutReset = false;
  private failLeft = 0;
  private failStatus = 500;
  private dropLeft = 0;
  private nextId = 100_000_000;
  /** Sorted copies of the lists by (list, key, order); dropped on every change through the methods below. */
  private sortedCache = new Map<string, FakeRecord[]>();
  /** Called before each /v1 request is answered (after auth): lets a test change data mid-sync. */
  beforeList: ((path: string, query: URLSearchParams) => void | Promise<void>) | undefined;
  url = "";

  constructor(opts: FakeWootricOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.clientId = opts.clientId ?? "fake-client";
    this.clientSecret = opts.clientSecret ?? "fake-secret";
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 7200;
    this.rateLimit = opts.rateLimit;
    this.offsetMin = opts.utcOffsetMinutes ?? -480;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: String(err) }));
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    // Idle keep-alive sockets only: destroying every socket (closeAllConnections) right after a run occasionally
    // left the test process stuck with a blocked event loop on Node 20 (seen with a 600x clock); see notes/issue-4.
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Sockets still busy (a request a test held back, then abandoned by the client) are destroyed after a grace.
    const force = setTimeout(() => server.closeAllConnections(), 500);
    await closed;
    clearTimeout(force);
    this.server = undefined;
  }

  /** Environment for the CLI / loadConfig pointing at this server. */
  env(): Record<string, string> {
    return { WOOTRIC_API_URL: this.url, WOOTRIC_CLIENT_ID: this.clientId, WOOTRIC_CLIENT_SECRET: this.clientSecret };
  }

  // ---- data -------------------------------------------------------------------------------------------------

  nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  add(list: ListName, created: number, fields: Record<string, unknown> = {}, updated = created): FakeRecord {
    const id = (fields.id as number | undefined) ?? (this.nextId += 1 + (this.nextId % 7));
    const rec: FakeRecord = { ...fields, id, created, updated };
    this.lists[list].set(id, rec);
    this.sortedCache.clear();
    return rec;
  }

  addResponse(created: number, fields: Record<string, unknown> = {}): FakeRecord {
    return this.add("responses", created, {
      end_user_id: 480_000_000 + (this.nextId % 1000),
      survey_id: 77_000,
      score: (this.nextId * 7) % 11,
      text: null,
      completed: true,
      excluded_from_calculations: false,
      ip_address: "203.0.113.7",
      origin_url: "https://app.example.com/",
      tags: [],
      notes: [],
      end_user: { properties: { plan: "Pro" } },
      ...fields,
    });
  }

  addDecline(created: number, fields: Record<string, unknown> = {}): FakeRecord {
    return this.add("declines", created, {
      end_user_id: 480_000_001,
      survey_id: 77_001,
      end_user: { properties: {} },
      ...fields,
    });
  }

  addEndUser(updated: number, fields: Record<string, unknown> = {}, created = updated): FakeRecord {
    const n = this.nextId;
    return this.add(
      "end_users",
      created,
      { email: `user${n}@example.com`, external_id: `u-${n}`, properties: {}, ...fields },
      updated,
    );
  }

  /** An edit: fields change and updated_at moves to `at` (default now). */
  edit(list: ListName, id: number, fields: Record<string, unknown>, at = this.nowSec()): FakeRecord {
    const rec = this.lists[list].get(id);
    if (!rec) throw new Error(`no ${list} ${id}`);
    Object.assign(rec, fields, { updated: at });
    this.sortedCache.clear();
    return rec;
  }

  remove(list: ListName, id: number): void {
    this.lists[list].delete(id);
    this.sortedCache.clear();
  }

  /** Empties every list. */
  reset(): void {
    for (const l of Object.values(this.lists)) l.clear();
    this.sortedCache.clear();
  }

  // ---- faults -----------------------------------------------------------------------------------------------

  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The next n /v1 requests answer 429 (with the rate-limit headers unless withoutReset). */
  storm(n: number, withoutReset = false): void {
    this.stormLeft = n;
    this.stormWithoutReset = withoutReset;
  }

  failNext(n: number, status = 500): void {
    this.failLeft = n;
    this.failStatus = status;
  }

  /** The next n /v1 requests have their connection destroyed without an answer. */
  dropNext(n: number): void {
    this.dropLeft = n;
  }

  count(pathPrefix: string, status?: number): number {
    return this.log.filter((r) => r.path.startsWith(pathPrefix) && (status === undefined || r.status === status))
      .length;
  }

  // ---- HTTP -------------------------------------------------------------------------------------------------

  /** Requests being answered now (a killed client's request still completes here, and is logged, after its death). */
  inflight = 0;

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inflight += 1;
    try {
      await this.answer(req, res);
    } finally {
      this.inflight -= 1;
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): undefined => {
      this.log.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, status });
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && url.pathname === "/oauth/token") return this.token(req, send);
    if (!url.pathname.startsWith("/v1/")) return send(404, { message: "Not Found" });

    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    const expires = auth ? this.tokens.get(auth[1]!) : undefined;
    if (expires === undefined || expires <= this.clock.now()) {
      return send(401, { errors: [{ status: "unauthorized", message: "The access token is invalid or has expired" }] });
    }
    if (this.dropLeft > 0) {
      this.dropLeft -= 1;
      this.log.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, status: 0 });
      req.socket.destroy();
      return;
    }
    if (this.failLeft > 0) {
      this.failLeft -= 1;
      return send(this.failStatus, { errors: [{ message: "Internal server error" }] });
    }
    const limitHeaders = this.consumeRate();
    if (limitHeaders === "limited" || this.stormLeft > 0) {
      const h = this.rateHeaders(0);
      if (this.stormLeft > 0) {
        this.stormLeft -= 1;
        if (this.stormWithoutReset) delete h["X-Rate-Limit-Reset"];
      }
      return send(429, { errors: [{ message: "Rate limit exceeded" }] }, h);
    }
    await this.beforeList?.(url.pathname, url.searchParams);
    const q = url.searchParams;
    switch (url.pathname) {
      case "/v1/end_users":
      case "/v1/responses":
      case "/v1/declines":
        return this.list(url.pathname.slice(4) as ListName, q, send, limitHeaders);
      case "/v1/segments":
        return send(
          200,
          this.segments.map((s) => ({ name: s.name, data_type: s.data_type, created_at: this.fmt(s.created) })),
          limitHeaders,
        );
      case "/v1/survey_templates":
        return send(
          200,
          { default_survey_template_id: this.surveyTemplates[0]?.id ?? null, survey_templates: this.surveyTemplates },
          limitHeaders,
        );
      case "/v1/nps_summary":
        return send(200, this.npsSummary(q), limitHeaders);
      default:
        return send(404, { message: "Not Found" });
    }
  }

  private async token(req: IncomingMessage, send: (s: number, b: unknown) => void): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += String(chunk);
    const form = new URLSearchParams(raw);
    if (form.get("grant_type") !== "client_credentials") return send(400, { error: "unsupported_grant_type" });
    if (form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret) {
      return send(401, { error: "invalid_client", error_description: "Client authentication failed" });
    }
    const token = randomBytes(16).toString("hex");
    this.tokens.set(token, this.clock.now() + this.tokenTtlSeconds * 1000);
    send(200, {
      access_token: token,
      token_type: "bearer",
      expires_in: this.tokenTtlSeconds,
      scope: "public",
      created_at: this.nowSec(),
    });
  }

  private consumeRate(): Record<string, string> | "limited" {
    if (!this.rateLimit) return {};
    const w = this.rateLimit.windowSeconds * 1000;
    const start = Math.floor(this.clock.now() / w) * w;
    if (start !== this.window.start) this.window = { start, used: 0 };
    if (this.window.used >= this.rateLimit.limit) return "limited";
    this.window.used += 1;
    return this.rateHeaders(this.rateLimit.limit - this.window.used);
  }

  private rateHeaders(remaining: number): Record<string, string> {
    if (!this.rateLimit) return { "X-Rate-Limit-Reset": String(this.nowSec() + 60) };
    const w = this.rateLimit.windowSeconds * 1000;
    const end = (Math.floor(this.clock.now() / w) + 1) * w;
    return {
      "X-Rate-Limit-Limit": String(this.rateLimit.limit),
      "X-Rate-Limit-Remaining": String(remaining),
      "X-Rate-Limit-Reset": String(Math.ceil(end / 1000)),
    };
  }

  private list(
    name: ListName,
    q: URLSearchParams,
    send: (s: number, b: unknown, h?: Record<string, string>) => undefined,
    headers: Record<string, string>,
  ): undefined {
    const pageRaw = q.get("page") ?? "1";
    const page = Number(pageRaw);
    if (!/^\d+$/.test(pageRaw) || page < 1 || page > 30) return send(400, PAGE_ERROR, headers);
    const perRaw = q.get("per_page") ?? "25";
    if (!/^\d+$/.test(perRaw) || Number(perRaw) < 1)
      return send(400, { errors: [{ message: "per_page does not have a valid value" }] }, headers);
    const perPage = Math.min(50, Number(perRaw));

    const defaultOrder = name === "end_users" ? "asc" : "desc";
    const order = q.get("sort_order") === "asc" ? "asc" : q.get("sort_order") === "desc" ? "desc" : defaultOrder;
    const sortKey = q.get("sort_key");
    let keyName: "email" | "created" | "updated";
    if (name === "end_users")
      keyName = sortKey === "updated_at" ? "updated" : sortKey === "created_at" ? "created" : "email";
    else keyName = "created";
    const cacheKey = `${name}:${keyName}:${order}`;
    let sorted = this.sortedCache.get(cacheKey);
    if (!sorted) {
      const key = (r: FakeRecord): number | string => (keyName === "email" ? String(r.email ?? "") : r[keyName]);
      const dir = order === "asc" ? 1 : -1;
      sorted = [...this.lists[name].values()].sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        if (ka !== kb) return (ka < kb ? -1 : 1) * dir;
        return (tieKey(a.id) - tieKey(b.id)) * dir;
      });
      this.sortedCache.set(cacheKey, sorted);
    }
    const conditions: { field: "created" | "updated"; op: (typeof OPS)[number]; t: number }[] = [];
    const filters: ("created" | "updated")[] = name === "end_users" ? ["created", "updated"] : ["created"];
    for (const param of filters) {
      for (const op of OPS) {
        const v = q.get(`${param}[${op}]`);
        if (v === null) continue;
        const t = Number(v);
        if (!Number.isFinite(t))
          return send(400, { errors: [{ message: `${param} does not have a valid value` }] }, headers);
        conditions.push({ field: param, op, t });
      }
    }
    // Narrow by binary search when a condition is on the sort field (the common case), then filter the rest.
    let lo = 0;
    let hi = sorted.length;
    if (keyName !== "email") {
      const asc = order === "asc";
      const firstIndex = (pred: (r: FakeRecord) => boolean) => {
        let a = 0;
        let b = sorted.length;
        while (a < b) {
          const m = (a + b) >>> 1;
          if (pred(sorted[m]!)) b = m;
          else a = m + 1;
        }
        return a;
      };
      for (const c of conditions) {
        if (c.field !== keyName) continue;
        const v = (r: FakeRecord) => r[keyName] as number;
        // In ascending order "x >= t" is a suffix; in descending order "x < t" is, and so on.
        const lower = (ok: (x: number) => boolean) =>
          (lo = Math.max(
            lo,
            firstIndex((r) => ok(v(r))),
          ));
        const upper = (bad: (x: number) => boolean) =>
          (hi = Math.min(
            hi,
            firstIndex((r) => bad(v(r))),
          ));
        if (asc) {
          if (c.op === "gte" || c.op === "eq") lower((x) => x >= c.t);
          if (c.op === "gt") lower((x) => x > c.t);
          if (c.op === "lt") upper((x) => x >= c.t);
          if (c.op === "lte" || c.op === "eq") upper((x) => x > c.t);
        } else {
          if (c.op === "lt") lower((x) => x < c.t);
          if (c.op === "lte" || c.op === "eq") lower((x) => x <= c.t);
          if (c.op === "gte" || c.op === "eq") upper((x) => x < c.t);
          if (c.op === "gt") upper((x) => x <= c.t);
        }
      }
    }
    if (keyName !== "email" && conditions.every((c) => c.field === keyName)) {
      const from = lo + (page - 1) * perPage;
      return send(
        200,
        sorted.slice(from, Math.max(from, Math.min(hi, from + perPage))).map((r) => this.render(r)),
        headers,
      );
    }
    const rows = sorted.slice(lo, Math.max(lo, hi)).filter((r) =>
      conditions.every(({ field: f, op, t }) => {
        const x = r[f];
        return op === "eq" ? x === t : op === "lt" ? x < t : op === "lte" ? x <= t : op === "gt" ? x > t : x >= t;
      }),
    );
    const slice = rows.slice((page - 1) * perPage, page * perPage);
    send(
      200,
      slice.map((r) => this.render(r)),
      headers,
    );
  }

  render(r: FakeRecord): Record<string, unknown> {
    const { created, updated, ...rest } = r;
    return { ...rest, created_at: this.fmt(created), updated_at: this.fmt(updated) };
  }

  /** "YYYY-MM-DD HH:MM:SS -0800" in the account's zone. */
  fmt(sec: number): string {
    const local = new Date((sec + this.offsetMin * 60) * 1000).toISOString();
    const sign = this.offsetMin < 0 ? "-" : "+";
    const abs = Math.abs(this.offsetMin);
    const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
    return `${local.slice(0, 10)} ${local.slice(11, 19)} ${off}`;
  }

  /** The account-zone day of a second. */
  localDay(sec: number): string {
    return new Date((sec + this.offsetMin * 60) * 1000).toISOString().slice(0, 10);
  }

  private npsSummary(q: URLSearchParams): Record<string, number> {
    const strip = (s: string | null) => (s === null ? null : s.replace(/^'|'$/g, ""));
    const today = this.localDay(this.nowSec());
    const lastMonth = this.localDay(this.nowSec() - 30 * 86400);
    const start = strip(q.get("date[start]")) ?? lastMonth;
    const end = strip(q.get("date[end]")) ?? today;
    let promoters = 0;
    let passives = 0;
    let detractors = 0;
    const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
    const first = dayNumber(start);
    const last = dayNumber(end);
    for (const r of this.lists.responses.values()) {
      const day = Math.floor((r.created + this.offsetMin * 60) / 86_400);
      if (day < first || day > last) continue;
      const score = Number(r.score);
      if (score >= 9) promoters += 1;
      else if (score >= 7) passives += 1;
      else detractors += 1;
    }
    const responses = promoters + passives + detractors;
    const nps = responses === 0 ? 0 : Math.round(((promoters - detractors) / responses) * 100);
    return { nps, responses, detractors, passives, promoters, response_rate: 12, email_response_rate: 9 };
  }
}
