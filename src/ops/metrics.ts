import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * One Prometheus registry per process (per service instance in tests). Each layer registers its own metrics
 * on it through these helpers so names stay unique and prefixed.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "wootric_firehose_process_" });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const full = `wootric_firehose_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Counter<L>;
    return new Counter({ name: full, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (this: Gauge<L>) => void,
  ): Gauge<L> {
    const full = `wootric_firehose_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Gauge<L>;
    return new Gauge({
      name: full,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      ...(collect ? { collect } : {}),
    });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> {
    const full = `wootric_firehose_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Histogram<L>;
    return new Histogram({ name: full, help, buckets, labelNames: [...labelNames], registers: [this.registry] });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
