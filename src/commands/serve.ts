import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Config, requireWebhookSecurity } from "../config.js";
import type { Logger } from "../log.js";
import { EmfEmitter } from "../ops/emf.js";
import { Metrics } from "../ops/metrics.js";
import { combineReadiness } from "../ops/readiness.js";
import { delay } from "../ops/shutdown.js";
import { type PollerHandle, startPollerSchedule } from "../poller/schedule.js";
import { createSink } from "../sink/create-sink.js";
import type { Readiness, Sink } from "../sink/sink.js";
import { createApp } from "../webhook/app.js";
import { ensureDevSecret } from "../webhook/dev-secret.js";

export interface RunningService {
  server: Server;
  url: string;
  sink: Sink;
  metrics: Metrics;
  /** Stop accepting, finish in-flight requests, stop the poller, close the sink. Idempotent. */
  shutdown(): Promise<void>;
}

/** Which secrets verify webhooks, per configuration; may generate the development secret. */
async function resolveWebhookSecrets(config: Config, logger: Logger): Promise<string[]> {
  if (config.webhook.allowUnsigned) {
    logger.warn(
      "!!! ALLOW_UNSIGNED_WEBHOOKS=true: requests WITHOUT an X-Wootric-Signature header are accepted. Anyone who can reach this port can write records. Use this for local development only. !!!",
    );
  }
  if (config.webhook.secrets.length > 0 || config.webhook.allowUnsigned) return config.webhook.secrets;
  if (config.sink.kind === "firehose") {
    requireWebhookSecurity(config); // throws ConfigError naming WOOTRIC_WEBHOOK_SECRET
    return config.webhook.secrets;
  }
  const { secret } = await ensureDevSecret(config.sink.dataDir, logger);
  return [secret];
}

/** Composes config → sink → HTTP app (→ poller) and listens on HOST:PORT. */
export async function startService(config: Config, logger: Logger, metrics = new Metrics()): Promise<RunningService> {
  const secrets = await resolveWebhookSecrets(config, logger);
  const sink = await createSink({ config, logger, metrics });

  let poller: PollerHandle | undefined;
  if (config.wootric) {
    try {
      poller = startPollerSchedule({ config, logger, metrics, sink });
      logger.info("poller scheduled", { cron: config.poll.cron });
    } catch (err) {
      logger.error("poller could not start; serving webhooks only", { error: (err as Error).message });
    }
  }

  let draining = false;
  const readiness = combineReadiness([
    (): Readiness => (draining ? { ready: false, reason: "shutting down" } : { ready: true }),
    () => sink.readiness(),
    (): Readiness => {
      if (!poller) return { ready: true };
      const s = poller.status();
      return s.ready ? { ready: true } : { ready: false, reason: `poller: ${s.reason ?? s.lastError ?? "not ready"}` };
    },
  ]);

  const app = createApp({
    sink,
    logger,
    metrics,
    secrets,
    allowUnsigned: config.webhook.allowUnsigned,
    maxBodyBytes: config.http.maxBodyBytes,
    readiness,
    isDraining: () => draining,
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.http.port, config.http.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      s.once("error", reject);
    });
  } catch (err) {
    await poller?.stop().catch(() => undefined);
    await sink.close(1000);
    throw err;
  }
  // Longer than a load balancer's idle timeout (ALB: 60 s), so the balancer closes idle connections first and never
  // sends a request into a socket Node is closing (Node's 5 s default causes sporadic 502s behind an ALB).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const emf = config.emf.enabled ? new EmfEmitter(metrics.registry, config.emf) : undefined;
  emf?.start();
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  logger.info("listening", {
    url,
    webhook: `${url}/webhooks/wootric`,
    sink: sink.kind,
    ...(config.sink.kind === "file" ? { dataDir: config.sink.dataDir } : {}),
    poller: poller ? "on" : "off",
    emf: emf ? `${config.emf.namespace} every ${config.emf.intervalMs / 1000} s` : "off",
  });

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (shutdownPromise ??= (async () => {
      draining = true;
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets are closed now; busy ones after their response (which says Connection: close).
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const timedOut = await Promise.race([closed.then(() => false), delay(config.shutdownTimeoutMs).then(() => true)]);
      clearInterval(sweeper);
      if (timedOut) {
        logger.warn("in-flight requests did not finish before SHUTDOWN_TIMEOUT_MS; closing their connections");
        server.closeAllConnections();
      }
      if (poller) {
        try {
          await Promise.race([poller.stop(), delay(Math.max(0, deadline - Date.now()))]);
        } catch (err) {
          logger.error("poller did not stop cleanly", { error: (err as Error).message });
        }
      }
      await sink.close(Math.max(1000, deadline - Date.now()));
      await emf?.stop();
      logger.info("shutdown complete");
    })());

  return { server, url, sink, metrics, shutdown };
}
