/**
 * Which Prometheus metrics (defined once, where they are measured) are also published to CloudWatch as Embedded
 * Metric Format log lines, under which name and unit. The alarms and the CloudWatch dashboard in terraform/ refer to
 * these names; test/unit/emf.test.ts checks that every name they use is defined here.
 */

export type EmfUnit = "Count" | "Bytes" | "Seconds" | "None";

export interface EmfSource {
  /** Prometheus metric name without the wootric_firehose_ prefix. */
  metric: string;
  /** Only samples whose label has one of these values. */
  where?: Readonly<Record<string, readonly string[]>>;
}

export interface EmfMetric {
  /** CloudWatch metric name. */
  name: string;
  unit: EmfUnit;
  /** delta: a counter's increase since the previous emission (a per-interval sum); gauge: its current value. */
  kind: "delta" | "gauge";
  /** Summed per dimension value; a metric with no registered source (e.g. spool metrics with the file sink) is skipped. */
  from: readonly EmfSource[];
  /** Prometheus label → CloudWatch dimension name, beyond the Service dimension every metric carries. */
  dimensions?: Readonly<Record<string, string>>;
}

export const WEBHOOK_ROUTE = "/webhooks/wootric";

export const EMF_METRICS: readonly EmfMetric[] = [
  {
    name: "WebhookRequests",
    unit: "Count",
    kind: "delta",
    from: [{ metric: "http_requests_total", where: { route: [WEBHOOK_ROUTE] } }],
    dimensions: { status: "Status" },
  },
  { name: "WebhookRecords", unit: "Count", kind: "delta", from: [{ metric: "webhook_records_written_total" }] },
  {
    name: "SignatureFailures",
    unit: "Count",
    kind: "delta",
    from: [{ metric: "webhook_signature_failures_total" }],
  },
  { name: "SpoolRecords", unit: "Count", kind: "gauge", from: [{ metric: "spool_records" }] },
  { name: "SpoolBytes", unit: "Bytes", kind: "gauge", from: [{ metric: "spool_bytes" }] },
  { name: "SpoolOldestAgeSeconds", unit: "Seconds", kind: "gauge", from: [{ metric: "spool_oldest_age_seconds" }] },
  { name: "ProducerBlocked", unit: "None", kind: "gauge", from: [{ metric: "producer_blocked" }] },
  { name: "FirehoseLinesSent", unit: "Count", kind: "delta", from: [{ metric: "producer_lines_sent_total" }] },
  // Firehose throttles per entry (ServiceUnavailableException "Slow down." in a 200 reply) or per call
  // (ThrottlingException, LimitExceededException, ServiceUnavailableException as the whole call's error); both are
  // resent from the spool. The adaptive producer runs at the stream's quota and finds it by being throttled, so
  // throttling during a drain is expected: these are for dashboards, DrainSeconds is what the alarm watches.
  { name: "ThrottledEntries", unit: "Count", kind: "delta", from: [{ metric: "producer_throttled_entries_total" }] },
  { name: "ThrottledCalls", unit: "Count", kind: "delta", from: [{ metric: "producer_throttled_calls_total" }] },
  // Seconds to send the spool's backlog at the rate Firehose accepts now: long and staying long means the quota
  // cannot keep up (or the backlog keeps growing).
  { name: "DrainSeconds", unit: "Seconds", kind: "gauge", from: [{ metric: "producer_drain_seconds" }] },
  {
    name: "DeadLetters",
    unit: "Count",
    kind: "delta",
    from: [
      { metric: "webhook_dead_letters_total" },
      { metric: "producer_dead_letters_total" },
      { metric: "poll_dead_letters_total" },
    ],
  },
  {
    name: "PollLastSuccessAgeSeconds",
    unit: "Seconds",
    kind: "gauge",
    from: [{ metric: "poll_last_success_age_seconds" }],
    dimensions: { stream: "Stream" },
  },
  {
    name: "PollRecords",
    unit: "Count",
    kind: "delta",
    from: [{ metric: "poll_records_total" }],
    dimensions: { stream: "Stream" },
  },
  {
    name: "PollRunsFailed",
    unit: "Count",
    kind: "delta",
    from: [{ metric: "poll_runs_total", where: { result: ["failed"] } }],
  },
];
