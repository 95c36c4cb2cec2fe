/**
 * The silent failures of issue 11 and the alarm that must catch each one (terraform/alarms.tf), with the metric it
 * watches and the treat_missing_data it needs. Shared by the HCL test and the plan test.
 */
export interface SilentFailure {
  failure: string;
  alarm: string;
  /** Metric names the alarm reads (directly or in its metric math). */
  metrics: string[];
  treatMissing: "breaching" | "notBreaching";
  /** EMF metric of the service (namespace var.metrics_namespace) rather than an AWS one. */
  emf: boolean;
}

export const SILENT_FAILURES: SilentFailure[] = [
  {
    failure: "producer blocked by AccessDenied or a wrong stream name, or no service publishing metrics at all",
    alarm: "producer_blocked",
    metrics: ["ProducerBlocked"],
    treatMissing: "breaching",
    emf: true,
  },
  {
    failure: "acknowledged records stuck in the spool",
    alarm: "spool_oldest_age",
    metrics: ["SpoolOldestAgeSeconds"],
    treatMissing: "notBreaching",
    emf: true,
  },
  {
    failure: "a wrong webhook secret: Wootric gets 401s and gives up",
    alarm: "webhook_signature_failures",
    metrics: ["SignatureFailures"],
    treatMissing: "notBreaching",
    emf: true,
  },
  {
    failure: "a full spool answering 503",
    alarm: "webhook_503",
    metrics: ["WebhookRequests"],
    treatMissing: "notBreaching",
    emf: true,
  },
  {
    failure: "5xx at the load balancer (no healthy task)",
    alarm: "alb_5xx",
    metrics: ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"],
    treatMissing: "notBreaching",
    emf: false,
  },
  {
    failure: "a poller failing every run",
    alarm: "poller_stale_responses",
    metrics: ["PollLastSuccessAgeSeconds"],
    treatMissing: "breaching",
    emf: true,
  },
  {
    failure: "dead letters piling up",
    alarm: "dead_letters",
    metrics: ["DeadLetters"],
    treatMissing: "notBreaching",
    emf: true,
  },
  {
    // not ThrottledRecords > 0: the adaptive producer is throttled on every backlog drain by design
    failure: "a backlog the stream's quota cannot drain (the drain estimate stays long)",
    alarm: "drain_seconds",
    metrics: ["DrainSeconds"],
    treatMissing: "notBreaching",
    emf: true,
  },
  {
    failure: "steady traffic near the stream's BytesPerSecondLimit for a long window (not a drain's brief peak)",
    alarm: "incoming_bytes_near_limit",
    metrics: ["IncomingBytes", "BytesPerSecondLimit"],
    treatMissing: "notBreaching",
    emf: false,
  },
  {
    failure: "records landing under the Firehose error prefix",
    alarm: "error_prefix_objects",
    metrics: ["PutRequests"],
    treatMissing: "notBreaching",
    emf: false,
  },
];
