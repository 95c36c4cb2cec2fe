import type { Clock } from "../common/clock.js";
import type { Metrics } from "../ops/metrics.js";

/** The poller's own metrics; Wootric request metrics are registered by the client. */
export class PollerMetrics {
  readonly records;
  readonly deadLetters;
  readonly tombstones;
  readonly overfullSeconds;
  readonly runs;
  private readonly cursors = new Map<string, number>();

  constructor(metrics: Metrics, clock: Clock) {
    this.records = metrics.counter("poll_records_total", "Records the poller wrote to the sink, by stream", ["stream"]);
    this.deadLetters = metrics.counter(
      "poll_dead_letters_total",
      "Polled records that failed validation and went out as dead letters",
      ["stream"],
    );
    this.tombstones = metrics.counter(
      "poll_tombstones_total",
      "Tombstones written: records delivered before that a complete read no longer lists (deleted in Wootric)",
      ["stream"],
    );
    this.overfullSeconds = metrics.counter(
      "poll_overfull_seconds_total",
      "Seconds holding more than 1,500 records (the list API cannot page through them in one order)",
      ["stream", "complete"],
    );
    this.runs = metrics.counter("poll_runs_total", "Poller runs by kind and result", ["kind", "result"]);
    const cursors = this.cursors;
    metrics.gauge(
      "poll_bookmark_lag_seconds",
      "Now minus each stream's bookmark (how far behind the poller is)",
      ["stream"],
      function () {
        this.reset();
        const now = clock.now() / 1000;
        for (const [stream, cursor] of cursors) this.set({ stream }, Math.max(0, now - cursor));
      },
    );
  }

  bookmark(stream: string, cursorSeconds: number): void {
    this.cursors.set(stream, cursorSeconds);
  }
}
