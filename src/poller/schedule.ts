import schedule from "node-schedule";
import { systemClock } from "../common/clock.js";
import type { Config } from "../config/index.js";
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
  status(): Readiness & { lastRunAt?: string; lastError?: string; lastReconcileAt?: string };
}

type Kind = "sync" | "reconcile";

/**
 * Schedules syncs with node-schedule (POLL_CRON) inside `serve`, plus one run right after start so a fresh
 * deployment does not wait for the first tick, and the full reconciliation on RECONCILE_CRON (unless "off").
 * One run at a time: a sync tick that finds a run going is skipped; a reconciliation tick waits for the run going to
 * end, and so does a reconciliation found unfinished at start-up (it resumes where it stopped). A tick that finds
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
  let runningKind: Kind | undefined;
  let reconcileDue = false;
  let started = false;
  let lastRunAt: string | undefined;
  let lastReconcileAt: string | undefined;
  let lastError: string | undefined;

  const trigger = (kind: Kind) => {
    if (abort.signal.aborted) return;
    if (running) {
      if (kind === "reconcile") {
        reconcileDue = true;
        logger.info("a poller run is going; the full reconciliation starts when it ends", { running: runningKind });
      } else {
        logger.info("previous poller run still going; skipping this tick", { running: runningKind });
      }
      return;
    }
    if (kind === "reconcile") reconcileDue = false;
    started = true;
    runningKind = kind;
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
      { kind },
    )
      .then((outcome) => {
        lastRunAt = startedAt;
        if (kind === "reconcile" && outcome.status === "ok") lastReconcileAt = startedAt;
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
        runningKind = undefined;
        if (reconcileDue) trigger("reconcile");
      });
  };

  const job = schedule.scheduleJob({ rule: config.poll.cron, tz: "Etc/UTC" }, () => trigger("sync"));
  if (!job) throw new Error(`POLL_CRON "${config.poll.cron}" is not a valid cron expression (e.g. "*/15 * * * *")`);
  const reconcileCron = config.poll.reconcileCron;
  const reconcileJob = reconcileCron
    ? schedule.scheduleJob({ rule: reconcileCron, tz: "Etc/UTC" }, () => trigger("reconcile"))
    : undefined;
  if (reconcileCron && !reconcileJob)
    throw new Error(`RECONCILE_CRON "${reconcileCron}" is not a valid cron expression (e.g. "17 3 * * *")`);
  // Show each stream's lag from the stored bookmarks right away, not only after this process's first run, and
  // resume a full reconciliation a previous process left unfinished.
  void Promise.all(
    streams.map(async (decl) => {
      const doc = await StreamStateDoc.load(store, bookmarkKey(decl.name), decl.name);
      if (doc.state.cursor !== undefined) pollerMetrics.bookmark(decl.name, doc.state.cursor);
      return doc.state.reconcile !== undefined;
    }),
  )
    .then((unfinished) => {
      if (reconcileJob && unfinished.some(Boolean)) {
        logger.info("a full reconciliation was left unfinished; it resumes after the first sync");
        if (running || !started) reconcileDue = true;
        else trigger("reconcile");
      }
    })
    .catch((err: unknown) => logger.warn("could not read the poller bookmarks", { error: (err as Error).message }));

  const first = setTimeout(() => trigger("sync"), 1_000);

  return {
    async stop() {
      job.cancel();
      reconcileJob?.cancel();
      clearTimeout(first);
      abort.abort(new Error("service shutting down"));
      await running;
    },
    status() {
      return {
        ready: true,
        ...(lastRunAt ? { lastRunAt } : {}),
        ...(lastReconcileAt ? { lastReconcileAt } : {}),
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
