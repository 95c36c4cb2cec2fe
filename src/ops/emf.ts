import type { MetricObjectWithValues, MetricValue, Registry } from "prom-client";
import { EMF_METRICS, type EmfMetric, type EmfUnit } from "./emf-catalog.js";

/**
 * Publishes metrics to CloudWatch without an agent: every interval, one CloudWatch Embedded Metric Format (EMF) JSON
 * object per line on stdout. On ECS the awslogs driver ships stdout to CloudWatch Logs, which extracts the metrics
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * The values come from the Prometheus registry, so /metrics and CloudWatch always agree.
 */

export interface EmfSettings {
  namespace: string;
  /** Value of the Service dimension on every metric, so several deployments can share one account and namespace. */
  service: string;
  intervalMs: number;
}

/** One EMF document: the `_aws` metadata plus the dimension and metric members it references. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: EmfUnit; StorageResolution: 60 }[];
    }[];
  };
  [member: string]: unknown;
}

const PREFIX = "wootric_firehose_";

type Sample = MetricValue<string>;

function matches(sample: Sample, where: EmfMetric["from"][number]["where"]): boolean {
  if (!where) return true;
  return Object.entries(where).every(([label, values]) => values.includes(String(sample.labels[label] ?? "")));
}

export class EmfEmitter {
  /** Last value seen of each counter sample, for deltas. */
  private readonly previous = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly settings: EmfSettings,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly catalog: readonly EmfMetric[] = EMF_METRICS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the registry once and returns the EMF documents for this interval (counters as deltas since the last call). */
  async collect(): Promise<EmfDocument[]> {
    const byName = new Map<string, MetricObjectWithValues<MetricValue<string>>>();
    for (const m of await this.registry.getMetricsAsJSON()) byName.set(m.name, m as MetricObjectWithValues<Sample>);

    // dimension key → dimension members and metric values
    const groups = new Map<
      string,
      { dims: Record<string, string>; metrics: Map<string, { unit: EmfUnit; value: number }> }
    >();
    for (const def of this.catalog) {
      const sources = def.from.map((s) => ({ source: s, metric: byName.get(PREFIX + s.metric) }));
      if (sources.every((s) => !s.metric)) continue;
      const sums = new Map<string, { dims: Record<string, string>; value: number }>();
      for (const { source, metric } of sources) {
        for (const sample of metric?.values ?? []) {
          if (!matches(sample, source.where)) continue;
          let value = Number(sample.value);
          if (!Number.isFinite(value)) continue;
          if (def.kind === "delta") {
            const key = `${source.metric}${JSON.stringify(sample.labels)}`;
            const before = this.previous.get(key) ?? 0;
            this.previous.set(key, value);
            value = value >= before ? value - before : value; // a reset counter starts again from 0
          }
          const dims: Record<string, string> = { Service: this.settings.service };
          for (const [label, dimension] of Object.entries(def.dimensions ?? {}))
            dims[dimension] = String(sample.labels[label] ?? "none");
          const key = JSON.stringify(dims);
          const sum = sums.get(key) ?? { dims, value: 0 };
          sum.value += value;
          sums.set(key, sum);
        }
      }
      // a counter that exists but has no labelled samples yet still reports 0, so graphs and sums have data points
      if (sums.size === 0 && def.kind === "delta" && !def.dimensions) {
        const dims = { Service: this.settings.service };
        sums.set(JSON.stringify(dims), { dims, value: 0 });
      }
      for (const [key, { dims, value }] of sums) {
        const group = groups.get(key) ?? { dims, metrics: new Map() };
        group.metrics.set(def.name, { unit: def.unit, value });
        groups.set(key, group);
      }
    }

    const timestamp = this.now();
    return [...groups.values()].map(({ dims, metrics }) => {
      const doc: EmfDocument = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: this.settings.namespace,
              Dimensions: [Object.keys(dims)],
              Metrics: [...metrics].map(([name, m]) => ({ Name: name, Unit: m.unit, StorageResolution: 60 })),
            },
          ],
        },
        ...dims,
      };
      for (const [name, m] of metrics) doc[name] = m.value;
      return doc;
    });
  }

  /** Collects and writes one line per document. */
  async emit(): Promise<number> {
    const docs = await this.collect();
    for (const doc of docs) this.write(JSON.stringify(doc));
    return docs.length;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.emit().catch(() => undefined), this.settings.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes a last interval, so counts since the previous emission are not lost on shutdown. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.emit().catch(() => undefined);
  }
}
