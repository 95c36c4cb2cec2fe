import type { Logger } from "../log.js";

/**
 * At most one log line per interval for events an attacker can trigger at will (rejected requests): the line says
 * how many like it were suppressed since the last one. Counting belongs to metrics, which see every event.
 */
export class SampledLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  warn(message: string, meta: Record<string, unknown>): void {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.lastAt = t;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.logger.warn(message, suppressed > 0 ? { ...meta, suppressedSinceLastLine: suppressed } : meta);
  }
}
