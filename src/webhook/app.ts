import express, { type NextFunction, type Request, type Response } from "express";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import { publicReadinessText, type Readiness } from "../ops/readiness.js";
import { SampledLog } from "../ops/sampled-log.js";
import type { Envelope } from "../records/envelope.js";
import { RecordNotSerialisableError, type Sink } from "../sink/sink.js";
import { checkContentType, PayloadParseError, parseByContent } from "./body.js";
import { boundedRawBody, InflightBudget } from "./body-reader.js";
import { unparsableWebhook, type WebhookEnvelopes, webhookToEnvelopes } from "./payload.js";
import { SIGNATURE_HEADER, verifySignature } from "./signature.js";

const WEBHOOK_PATH = "/webhooks/wootric";

export interface WebhookAppDeps {
  sink: Sink;
  logger: Logger;
  metrics: Metrics;
  /** Secrets accepted for X-Wootric-Signature (several during a rotation). */
  secrets: readonly string[];
  /** Accept requests without a signature header (local development only). */
  allowUnsigned: boolean;
  maxBodyBytes: number;
  /** Overall readiness for /readyz (sink, poller, draining). */
  readiness: () => Readiness;
  /** While true every response carries `Connection: close`, so keep-alive clients let go during shutdown. */
  isDraining?: () => boolean;
  /** Bounds on bodies read before the signature is checked; defaults as documented in config/http-limits.ts. */
  limits?: Pick<HttpLimits, "bodyIdleTimeoutMs" | "maxInflightBodyBytes">;
  /** At most one log line per this many ms for rejected requests (the metrics count every one). Default 10 s. */
  rejectLogIntervalMs?: number;
}

function webhookMetrics(metrics: Metrics) {
  return {
    requests: metrics.counter("http_requests_total", "HTTP requests answered, by route and status code", [
      "route",
      "status",
    ]),
    duration: metrics.histogram(
      "http_request_duration_seconds",
      "HTTP request latency, by route",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ["route"],
    ),
    records: metrics.counter("webhook_records_written_total", "Webhook records made durable, by entity", ["entity"]),
    bytes: metrics.counter("webhook_bytes_received_total", "Bytes of webhook bodies accepted"),
    signatureFailures: metrics.counter(
      "webhook_signature_failures_total",
      "Webhooks rejected for a missing or wrong signature",
      ["reason"],
    ),
    deadLetters: metrics.counter("webhook_dead_letters_total", "Signed webhooks kept as dead letters, by kind", [
      "kind",
    ]),
    mislabelled: metrics.counter(
      "webhook_content_type_mismatches_total",
      "Webhook bodies whose content was the other format than their Content-Type declared, by declared and parsed format",
      ["declared", "parsed"],
    ),
    rejected: metrics.counter(
      "webhook_rejected_total",
      "Webhook requests refused before reaching the sink (auth, size, encoding, budget, timeouts), by status",
      ["status"],
    ),
    sinkFailures: metrics.counter(
      "webhook_sink_failures_total",
      "Webhooks answered 503 because the sink could not make them durable",
    ),
  };
}

/** The HTTP surface: `POST /webhooks/wootric`, `GET /healthz`, `GET /readyz`, `GET /metrics`. */
export function createApp(deps: WebhookAppDeps): express.Express {
  const m = webhookMetrics(deps.metrics);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    if (deps.isDraining?.()) res.setHeader("Connection", "close");
    res.on("finish", () => {
      const route = req.route ? String((req.route as { path: string }).path) : "other";
      m.requests.inc({ route, status: String(res.statusCode) });
      m.duration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/readyz", (_req, res) => {
    const r = deps.readiness();
    const body: Record<string, unknown> = r.ready
      ? { status: "ready" }
      : { status: "not ready", reason: publicReadinessText(r.reason ?? "unknown") };
    if (r.warnings?.length) body.warnings = r.warnings.map(publicReadinessText);
    if (r.detail) body.detail = r.detail;
    res.status(r.ready ? 200 : 503).json(body);
  });

  app.get("/metrics", async (_req, res, next) => {
    try {
      const { contentType, body } = await deps.metrics.render();
      res.type(contentType).send(body);
    } catch (err) {
      next(err);
    }
  });

  const rejectLog = new SampledLog(deps.logger, deps.rejectLogIntervalMs ?? 10_000);
  const budget = new InflightBudget(deps.limits?.maxInflightBodyBytes ?? DEFAULT_HTTP_LIMITS.maxInflightBodyBytes);
  deps.metrics.gauge(
    "webhook_inflight_body_bytes",
    "Body bytes held by webhook requests not answered yet (bounded by WEBHOOK_MAX_INFLIGHT_BYTES)",
    [],
    function () {
      this.set(budget.bytes);
    },
  );
  const rawBody = boundedRawBody({
    maxBodyBytes: deps.maxBodyBytes,
    idleTimeoutMs: deps.limits?.bodyIdleTimeoutMs ?? DEFAULT_HTTP_LIMITS.bodyIdleTimeoutMs,
    budget,
    onRefused: (req, status, reason) => {
      m.rejected.inc({ status: String(status) });
      rejectLog.warn("webhook refused before the signature check", { status, reason, ip: req.ip });
    },
  });

  app.post(WEBHOOK_PATH, rawBody, async (req: Request, res: Response) => {
    const receivedAt = new Date();
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentTypeHeader = req.get("content-type");

    const type = checkContentType(contentTypeHeader);
    if (!type.ok) {
      m.rejected.inc({ status: "415" });
      res.status(415).json({ error: type.reason });
      return;
    }

    const signatureHeader = req.headers[SIGNATURE_HEADER];
    const unsignedAllowed =
      deps.allowUnsigned && (signatureHeader === undefined || String(signatureHeader).trim() === "");
    if (!unsignedAllowed) {
      const check = verifySignature(raw, signatureHeader, deps.secrets);
      if (!check.ok) {
        m.signatureFailures.inc({ reason: check.reason });
        m.rejected.inc({ status: "401" });
        rejectLog.warn("webhook rejected: signature check failed", {
          reason: check.reason,
          ip: req.ip,
          bytes: raw.length,
        });
        res.status(401).json({
          error: `signature ${check.reason}: X-Wootric-Signature must be sha1=<hex HMAC-SHA1(secret, raw body)>`,
        });
        return;
      }
    }

    const input = { raw, contentType: contentTypeHeader, receivedAt };
    let result: WebhookEnvelopes;
    try {
      const parsed = parseByContent(raw, type.format, type.charset);
      if (parsed.mislabelled) m.mislabelled.inc({ declared: type.format, parsed: parsed.format });
      result = webhookToEnvelopes(parsed.value, input, parsed.format);
    } catch (err) {
      // Signed bytes are never dropped: whatever failed on the way to a record, they are kept as a dead letter.
      const reason = err instanceof PayloadParseError ? err.message : `body could not be read as a webhook: ${err}`;
      result = unparsableWebhook(input, reason);
    }

    try {
      try {
        await deps.sink.write(result.envelopes);
      } catch (err) {
        if (!(err instanceof RecordNotSerialisableError)) throw err;
        result = unparsableWebhook(input, `record could not be serialised: ${err.message}`);
        await deps.sink.write(result.envelopes);
      }
    } catch (err) {
      m.sinkFailures.inc();
      deps.logger.error("webhook not stored: sink unavailable, answering 503 so the sender retries", {
        error: (err as Error).message,
      });
      res.status(503).set("Retry-After", "5").json({ error: "records could not be made durable; retry later" });
      return;
    }

    m.bytes.inc(raw.length);
    countWritten(m.records, result.envelopes);
    if (deps.logger.isDebugEnabled()) {
      for (const e of result.envelopes) {
        deps.logger.debug("webhook record stored", {
          entity: e.entity,
          id: e.id,
          event_name: e.event_name,
          dedup_key: e.dedup_key,
        });
      }
    }
    for (const dl of result.deadLetters) {
      m.deadLetters.inc({ kind: dl.kind });
      deps.logger.warn("webhook kept as a dead letter", { kind: dl.kind, reason: dl.reason, bytes: raw.length });
    }
    res.status(200).json({ stored: result.envelopes.length, dead_letters: result.deadLetters.length });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === "entity.too.large" || e.status === 413) {
      res.status(413).json({ error: `body larger than ${deps.maxBodyBytes} bytes (WEBHOOK_MAX_BYTES)` });
      return;
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? "bad request" });
      return;
    }
    deps.logger.error("unhandled request error", { error: e.message });
    res.status(500).json({ error: "internal error" });
  });

  return app;
}

function countWritten(counter: { inc: (labels: { entity: string }) => void }, envelopes: readonly Envelope[]): void {
  for (const e of envelopes) counter.inc({ entity: e.entity });
}
