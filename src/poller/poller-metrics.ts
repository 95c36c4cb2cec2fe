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
  private readonly successes = new Map<string, number>();

  constructor(
    metrics: Metrics,
    private readonly clock: Clock,
  ) {
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
    const successes = this.successes;
    metrics.gauge(
      "poll_last_success_age_seconds",
      "Seconds since this process last finished a run of each stream without error (absent until the first one)",
      ["stream"],
      function () {
        this.reset();
        const now = clock.now();
        for (const [stream, at] of successes) this.set({ stream }, Math.max(0, (now - at) / 1000));
      },
    );
  }

  /** A stream finished a run without error (its bookmark is durable). */
  succeeded(stream: string): void {
    this.successes.set(stream, this.clock.now());
  }

  bookmark(stream: string, cursorSeconds: number): void {
    this.cursors.set(stream, cursorSeconds);
  }
}
