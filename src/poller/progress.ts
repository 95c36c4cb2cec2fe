import type { Clock } from "../common/clock.js";
import type { Logger } from "../log.js";

/** Receives what a run is doing; the engine and the client report into it. */
export interface ProgressSink {
  streamStart(stream: string, fromSec: number, toSec: number): void;
  streamProgress(stream: string, records: number, cursorSec: number): void;
  streamDone(stream: string, records: number): void;
  /** The stream stopped with an error (the run logs it); never followed by streamDone. */
  streamFailed(stream: string): void;
  request(): void;
  wait(ms: number): void;
  finish(): void;
}

export const noProgress: ProgressSink = {
  streamStart() {},
  streamProgress() {},
  streamDone() {},
  streamFailed() {},
  request() {},
  wait() {},
  finish() {},
};

const fmtInt = (n: number) => n.toLocaleString("en-US");
function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Progress for `sync` / `backfill`: one line redrawn with \r on a TTY (stream, records, requests, rate-limit waits,
 * ETA from how far the current stream's cursor has moved through its window), plain log lines otherwise.
 */
export class ConsoleProgress implements ProgressSink {
  private stream = "";
  private from = 0;
  private to = 0;
  private cursor = 0;
  /** Where the data actually starts: a first sync's window opens at the epoch, the first page shows the real start. */
  private rebased = false;
  private streamStartedAt = 0;
  private records = 0;
  private totalRecords = 0;
  private requests = 0;
  private waits = 0;
  private waitMs = 0;
  private lastDraw = 0;
  private lastLog = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly tty: boolean = out.isTTY === true,
  ) {}

  streamStart(stream: string, fromSec: number, toSec: number): void {
    this.stream = stream;
    this.from = fromSec;
    this.to = toSec;
    this.cursor = fromSec;
    this.rebased = false;
    this.records = 0;
    this.streamStartedAt = this.clock.now();
    if (!this.tty) {
      this.logger.info("stream started", {
        stream,
        from: new Date(fromSec * 1000).toISOString(),
        to: new Date(toSec * 1000).toISOString(),
      });
    }
    this.draw(true);
  }

  streamProgress(stream: string, records: number, cursorSec: number): void {
    this.stream = stream;
    if (!this.rebased && records > 0) {
      this.rebased = true;
      this.from = Math.min(Math.max(this.from, cursorSec - 1), this.to - 1);
      this.streamStartedAt = this.clock.now();
    }
    this.records = records;
    this.cursor = Math.max(this.cursor, cursorSec);
    this.draw(false);
  }

  streamDone(stream: string, records: number): void {
    this.totalRecords += records;
    this.records = records;
    this.cursor = this.to;
    if (this.tty) {
      this.draw(true);
      this.out.write("\n");
    } else {
      this.logger.info("stream done", { stream, records, requests: this.requests });
    }
  }

  streamFailed(_stream: string): void {
    // Keep the last progress line on screen and start the error on a line of its own.
    if (this.tty) this.out.write("\n");
  }

  request(): void {
    this.requests += 1;
    this.draw(false);
  }

  wait(ms: number): void {
    this.waits += 1;
    this.waitMs += ms;
    if (!this.tty) this.logger.info("waiting for the Wootric rate limit", { wait_ms: Math.round(ms) });
    this.draw(true);
  }

  finish(): void {
    if (this.tty)
      this.out.write(
        `done: ${fmtInt(this.totalRecords)} records, ${fmtInt(this.requests)} requests, ${this.waits} rate-limit waits (${fmtDuration(this.waitMs)})\n`,
      );
  }

  private line(): string {
    const span = this.to - this.from;
    const frac = span > 0 ? Math.min(1, Math.max(0, (this.cursor - this.from) / span)) : 1;
    const elapsed = this.clock.now() - this.streamStartedAt;
    const eta = frac > 0.001 ? (elapsed / frac) * (1 - frac) : NaN;
    const width = 20;
    const filled = Math.round(frac * width);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    return `${this.stream.padEnd(16)} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ${fmtInt(this.records)} records  ${fmtInt(this.requests)} requests  ${this.waits} waits (${fmtDuration(this.waitMs)})  ETA ${fmtDuration(eta)}`;
  }

  private draw(force: boolean): void {
    const now = this.clock.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.out.write(`\r${this.line()}\x1b[K`);
      return;
    }
    if (!force && now - this.lastLog >= 10_000 && this.stream) {
      this.lastLog = now;
      this.logger.info("progress", {
        stream: this.stream,
        records: this.records,
        requests: this.requests,
        cursor: new Date(this.cursor * 1000).toISOString(),
        rate_limit_waits: this.waits,
      });
    }
  }
}
