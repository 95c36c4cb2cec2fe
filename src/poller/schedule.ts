import schedule from "node-schedule";
import { systemClock } from "../common/clock.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import type { Readiness } from "../ops/readiness.js";
import type { Sink } from "../sink/sink.js";
import { openStateStore } from "../state/open-store.js";
import { bookmarkKey, StreamStateDoc } from "../state/stream-state.js";
import { PollerMetrics } from "./poller-metrics.js";
import { makeClient, runPoller } from "./run.js";
import { STREAM_NAMES, STREAMS } from "./streams.js";

export interface PollerHandle {
  /** Cancel the schedule, let a running sync stop at a durable point, release the lease. */
  stop(): Promise<void>;
  status(): Readiness & { lastRunAt?: string; lastError?: string };
}

/**
 * Schedules syncs with node-schedule (POLL_CRON) inside `serve`, plus one run right after start so a fresh
 * deployment does not wait for the first tick. A tick that finds a run still going is skipped; a tick that finds
 * another replica holding the lease does nothing. Poller trouble never makes the service unready: webhooks keep
 * flowing, and the error shows in status() and the metrics.
 */
export function startPollerSchedule(deps: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sink: Sink;
}): PollerHandle {
  const { config, logger } = deps;
  const clock = systemClock;
  const store = openStateStore(config.state);
  const pollerMetrics = new PollerMetrics(deps.metrics, clock);
  // One client for the life of the service, so its token and rate-limit state carry over between runs.
  const client = makeClient({ config, logger, metrics: deps.metrics, clock });
  const streams = STREAM_NAMES.map((n) => STREAMS[n]);
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  let lastRunAt: string | undefined;
  let lastError: string | undefined;

  const trigger = () => {
    if (abort.signal.aborted) return;
    if (running) {
      logger.info("previous poller run still going; skipping this tick");
      return;
    }
    const startedAt = new Date(clock.now()).toISOString();
    running = runPoller(
      {
        config,
        logger,
        metrics: deps.metrics,
        sink: deps.sink,
        store,
        clock,
        client,
        pollerMetrics,
        signal: abort.signal,
      },
      streams,
      { kind: "sync" },
    )
      .then((outcome) => {
        lastRunAt = startedAt;
        if (outcome.status === "failed") lastError = outcome.errors.map((e) => `${e.stream}: ${e.error}`).join("; ");
        else if (outcome.status === "ok") lastError = undefined;
      })
      .catch((err: unknown) => {
        lastRunAt = startedAt;
        lastError = (err as Error).message;
        logger.error("poller run failed", { error: lastError });
      })
      .finally(() => {
        running = undefined;
      });
  };

  const job = schedule.scheduleJob({ rule: config.poll.cron, tz: "Etc/UTC" }, trigger);
  if (!job) throw new Error(`POLL_CRON "${config.poll.cron}" is not a valid cron expression (e.g. "*/15 * * * *")`);
  // Show each stream's lag from the stored bookmarks right away, not only after this process's first run.
  void Promise.all(
    streams.map(async (decl) => {
      const doc = await StreamStateDoc.load(store, bookmarkKey(decl.name), decl.name);
      if (doc.state.cursor !== undefined) pollerMetrics.bookmark(decl.name, doc.state.cursor);
    }),
  ).catch((err: unknown) => logger.warn("could not read the poller bookmarks", { error: (err as Error).message }));

  const first = setTimeout(trigger, 1_000);

  return {
    async stop() {
      job.cancel();
      clearTimeout(first);
      abort.abort(new Error("service shutting down"));
      await running;
    },
    status() {
      return {
        ready: true,
        ...(lastRunAt ? { lastRunAt } : {}),
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
