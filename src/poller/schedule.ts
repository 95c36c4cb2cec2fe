// PLACEHOLDER: replaced by the poller implementation (issue 4).
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../ops/metrics.js";
import type { Readiness, Sink } from "../sink/sink.js";

export interface PollerHandle {
  /** Cancel the schedule, let a running sync stop at a durable point, release the lease. */
  stop(): Promise<void>;
  status(): Readiness & { lastRunAt?: string; lastError?: string };
}

/** Schedules syncs with node-schedule (POLL_CRON) inside `serve`. Only called when config.wootric is set. */
export function startPollerSchedule(_deps: { config: Config; logger: Logger; metrics: Metrics; sink: Sink }): PollerHandle {
  throw new Error("poller not implemented yet");
}
