import type { Config } from "../../config/index.js";

export type FirehoseSinkSettings = Extract<Config["sink"], { kind: "firehose" }>;

/** Hard PutRecordBatch limits (Firehose API reference; they cannot be raised). */
export const FIREHOSE_LIMITS = {
  /** Max bytes of one record's Data, counted before base64. */
  maxRecordBytes: 1_024_000,
  maxRecordsPerBatch: 500,
  /** Max raw bytes per PutRecordBatch request. */
  maxBatchBytes: 4 * 1024 * 1024,
  /** Dynamic partitioning's multi-record deaggregation handles at most 500 sub-records per record. */
  maxLinesPerRecord: 500,
  /** Ingestion is billed per record rounded up to 5 KB. */
  billingUnitBytes: 5120,
} as const;

/** What the packer aims for: the API limits minus a safety margin on the request size. */
export interface PackLimits {
  maxRecordBytes: number;
  maxLinesPerRecord: number;
  maxRecordsPerBatch: number;
  maxBatchBytes: number;
}

export const DEFAULT_PACK_LIMITS: PackLimits = {
  maxRecordBytes: FIREHOSE_LIMITS.maxRecordBytes,
  maxLinesPerRecord: FIREHOSE_LIMITS.maxLinesPerRecord,
  maxRecordsPerBatch: FIREHOSE_LIMITS.maxRecordsPerBatch,
  // Four full records (4 × 1,024,000 B); 98,304 B under the 4 MiB request limit so JSON/base64 counting
  // differences between Firehose front-ends never turn a full batch into a rejected one.
  maxBatchBytes: 4 * FIREHOSE_LIMITS.maxRecordBytes,
};

/** Timings of the shipper. Defaults suit production; tests shrink them. */
export interface ShipperTuning {
  /** Exponential backoff with full jitter: delay = random(0, min(cap, base × 2^attempt)). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Retry period while the stream is missing / access is denied / KMS fails (±50 % jitter). */
  blockedRetryMs: number;
  /** Per-request timeout of PutRecordBatch. */
  requestTimeoutMs: number;
  /** How often to retry a failing dead-letter PutObject at most (backoff caps here). */
  deadLetterRetryCapMs: number;
}

export const DEFAULT_TUNING: ShipperTuning = {
  backoffBaseMs: 100,
  backoffCapMs: 20_000,
  blockedRetryMs: 30_000,
  requestTimeoutMs: 60_000,
  deadLetterRetryCapMs: 60_000,
};
