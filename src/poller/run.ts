import { type Clock, systemClock } from "../common/clock.js";
import { isFatal } from "../common/errors.js";
import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import type { Sink } from "../sink/sink.js";
import { Lease, LeaseHeldError, LeaseLostError } from "../state/lease.js";
import type { StateStore } from "../state/store.js";
import { WootricClient } from "../wootric/client.js";
import { type RunMode, runStream, type StreamResult } from "./engine.js";
import { PollerMetrics } from "./poller-metrics.js";
import { noProgress, type ProgressSink } from "./progress.js";
import type { StreamDecl } from "./streams.js";

export interface PollerRunDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  sink: Sink;
  store: StateStore;
  clock?: Clock;
  /** Built from config.wootric when absent. */
  client?: WootricClient;
  pollerMetrics?: PollerMetrics;
  progress?: ProgressSink;
  signal?: AbortSignal;
  checkpointEveryMs?: number;
}

export type RunOutcome =
  | { status: "ok"; streams: StreamResult[] }
  | { status: "failed"; streams: StreamResult[]; errors: { stream: string; error: string }[] }
  | { status: "lease_held"; holder: string }
  | { status: "stopped"; streams: StreamResult[] };

const PURPOSE: Record<RunMode["kind"], string> = {
  sync: "sync",
  reconcile: "full reconciliation",
  backfill: "backfill",
};

export function makeClient(
  deps: Pick<PollerRunDeps, "config" | "logger" | "metrics" | "clock" | "progress">,
): WootricClient {
  const w = deps.config.wootric;
  if (!w) throw new Error("WOOTRIC_CLIENT_ID and WOOTRIC_CLIENT_SECRET are required to poll the Wootric API");
  const progress = deps.progress;
  return new WootricClient({
    baseUrl: w.baseUrl,
    clientId: w.clientId,
    clientSecret: w.clientSecret,
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(progress
      ? {
          onRequest: () => progress.request(),
          onWait: (ms: number, reason: string) => {
            if (reason !== "backoff") progress.wait(ms);
          },
        }
      : {}),
  });
}

/**
 * One poller run: take the lease, run the streams in order, release the lease. A stream that fails does not stop
 * the others (its bookmark stays at its last durable point), except for fatal failures (see src/errors.ts): further
 * writes would be unsafe, or no stream could succeed (credentials refused, API unreachable). A full reconciliation
 * holds the same lease as sync, so the two never run at once.
 */
export async function runPoller(deps: PollerRunDeps, streams: StreamDecl[], mode: RunMode): Promise<RunOutcome> {
  const clock = deps.clock ?? systemClock;
  const progress = deps.progress ?? noProgress;
  const client = deps.client ?? makeClient({ ...deps, clock, progress });
  const pollerMetrics = deps.pollerMetrics ?? new PollerMetrics(deps.metrics, clock);
  let lease: Lease;
  try {
    lease = await Lease.acquire(deps.store, {
      ttlMs: deps.config.poll.leaseTtlSeconds * 1000,
      clock,
      purpose: mode.kind === "backfill" ? `backfill ${mode.since}..${mode.until ?? "now"}` : PURPOSE[mode.kind],
    });
  } catch (err) {
    if (err instanceof LeaseHeldError) {
      pollerMetrics.runs.inc({ kind: mode.kind, result: "lease_held" });
      deps.logger.info("another replica is polling; skipping this run", {
        holder: err.current.holder,
        until: err.current.expires_at,
      });
      return { status: "lease_held", holder: err.message };
    }
    throw err;
  }
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(deps.signal?.reason);
  deps.signal?.addEventListener("abort", onOuterAbort, { once: true });
  lease.startAutoRenew((err) => {
    deps.logger.warn("lease renewal failed", { error: (err as Error).message });
    if (err instanceof LeaseLostError) stop.abort(err);
  });

  const results: StreamResult[] = [];
  const errors: { stream: string; error: string }[] = [];
  let stopped = false;
  try {
    for (const decl of streams) {
      if (stop.signal.aborted) {
        stopped = true;
        break;
      }
      try {
        const r = await runStream(
          {
            client,
            store: deps.store,
            sink: deps.sink,
            clock,
            logger: deps.logger,
            metrics: pollerMetrics,
            poll: deps.config.poll,
            progress,
            lease,
            signal: stop.signal,
            ...(deps.checkpointEveryMs !== undefined ? { checkpointEveryMs: deps.checkpointEveryMs } : {}),
          },
          decl,
          mode,
        );
        results.push(r);
        pollerMetrics.succeeded(decl.name);
        deps.logger.info("stream synced", { ...r, kind: mode.kind });
      } catch (err) {
        const e = err as Error;
        if (stop.signal.aborted && deps.signal?.aborted) {
          stopped = true;
          break;
        }
        errors.push({ stream: decl.name, error: `${e.name}: ${e.message}` });
        deps.logger.error("stream failed; its bookmark stays at the last durable point", {
          stream: decl.name,
          error: e.message,
          name: e.name,
        });
        if (isFatal(e) || stop.signal.aborted) {
          const skipped = streams.slice(streams.indexOf(decl) + 1).map((d) => d.name);
          if (skipped.length > 0)
            deps.logger.error("run stopped: the remaining streams cannot succeed either", {
              skipped,
              cause: e.message,
            });
          break;
        }
      }
    }
  } finally {
    deps.signal?.removeEventListener("abort", onOuterAbort);
    await lease
      .release()
      .catch((err: unknown) =>
        deps.logger.warn("could not release the lease; it expires by itself", { error: (err as Error).message }),
      );
    progress.finish();
  }
  const outcome: RunOutcome = stopped
    ? { status: "stopped", streams: results }
    : errors.length > 0
      ? { status: "failed", streams: results, errors }
      : { status: "ok", streams: results };
  pollerMetrics.runs.inc({ kind: mode.kind, result: outcome.status });
  return outcome;
}
