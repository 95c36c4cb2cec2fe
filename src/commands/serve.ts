import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sleep } from "../common/clock.js";
import { type Config, requireWebhookSecurity } from "../config/index.js";
import type { Logger } from "../log.js";
import { EmfEmitter } from "../ops/emf.js";
import { Metrics } from "../ops/metrics.js";
import { combineReadiness, type Readiness } from "../ops/readiness.js";
import { type PollerHandle, startPollerSchedule } from "../poller/schedule.js";
import { createSink } from "../sink/create-sink.js";
import type { Sink } from "../sink/sink.js";
import { createApp } from "../webhook/app.js";
import { ensureDevSecret } from "../webhook/dev-secret.js";
import { listenWithLimits } from "../webhook/server.js";

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

export const SERVE_HELP = `Usage: wootric-firehose serve

Receives Wootric webhooks on POST /webhooks/wootric and answers 2xx only once each record is durable; when
WOOTRIC_CLIENT_ID and WOOTRIC_CLIENT_SECRET are set, also polls the Wootric API on POLL_CRON and runs the full
reconciliation (edits, backdated records, deletions) on RECONCILE_CRON ("off" disables it). Also serves GET /healthz,
/readyz and /metrics. Stops cleanly on SIGTERM or Ctrl-C (a second one exits at once).

Options:
  -h, --help   show this text

Configured with environment variables, for example:
  PORT, HOST                    where to listen (default 0.0.0.0:8080)
  WOOTRIC_WEBHOOK_SECRET        the secret token of Wootric's outgoing webhooks
  FIREHOSE_STREAM_NAME          deliver to this Firehose stream (spooled under SPOOL_DIR first);
                                without it records go to gzip files under DATA_DIR (default ./data)
  LOG_LEVEL, LOG_FORMAT         debug logs one line per stored webhook record
See README.md for every variable. Exit codes: 0 stopped cleanly, 1 failure, 2 configuration or start-up error.`;

/** The URL to print: an unspecified address (all interfaces) is reached through this host's loopback. */
function localUrl(addr: AddressInfo): { url: string; allInterfaces: boolean } {
  if (addr.address === "0.0.0.0") return { url: `http://127.0.0.1:${addr.port}`, allInterfaces: true };
  if (addr.address === "::") return { url: `http://localhost:${addr.port}`, allInterfaces: true };
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { url: `http://${host}:${addr.port}`, allInterfaces: false };
}

/** Composes config → sink → HTTP app (→ poller) and listens on HOST:PORT. */
export async function startService(config: Config, logger: Logger, metrics = new Metrics()): Promise<RunningService> {
  const secrets = await resolveWebhookSecrets(config, logger);
  const sink = await createSink({ config, logger, metrics });

  let poller: PollerHandle | undefined;
  if (config.wootric) {
    try {
      poller = startPollerSchedule({ config, logger, metrics, sink });
      logger.info("poller scheduled", {
        cron: config.poll.cron,
        reconcile_cron: config.poll.reconcileCron ?? "off",
      });
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
    limits: config.http.limits,
    readiness,
    isDraining: () => draining,
  });

  let server: Server;
  try {
    // keepAliveTimeout (65 s) outlives an ALB's idle timeout, so the balancer never sends into a closing socket.
    server = await listenWithLimits(app, { port: config.http.port, host: config.http.host }, config.http.limits);
  } catch (err) {
    await poller?.stop().catch(() => undefined);
    await sink.close(1000);
    throw err;
  }
  const emf = config.emf.enabled ? new EmfEmitter(metrics.registry, config.emf) : undefined;
  emf?.start();
  const { url, allInterfaces } = localUrl(server.address() as AddressInfo);
  logger.info(`listening on ${url}${allInterfaces ? ` (all interfaces, HOST=${config.http.host})` : ""}`, {
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
      const timedOut = await Promise.race([
        closed.then(() => false),
        sleep(config.shutdownTimeoutMs, undefined, { unref: true }).then(() => true),
      ]);
      clearInterval(sweeper);
      if (timedOut) {
        logger.warn("in-flight requests did not finish before SHUTDOWN_TIMEOUT_MS; closing their connections");
        server.closeAllConnections();
      }
      if (poller) {
        try {
          await Promise.race([poller.stop(), sleep(deadline - Date.now(), undefined, { unref: true })]);
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
