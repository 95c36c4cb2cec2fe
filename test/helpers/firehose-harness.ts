import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FirehoseClient, PutRecordBatchCommand, type PutRecordBatchCommandInput } from "@aws-sdk/client-firehose";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import type { Envelope } from "../../src/records/envelope.js";
import { serializeEnvelope } from "../../src/records/envelope.js";
import type { FirehoseSinkSettings, PackLimits, ShipperTuning } from "../../src/sink/firehose/config.js";
import { openFirehoseSink } from "../../src/sink/firehose/firehose-sink.js";
import type { RateControllerOptions } from "../../src/sink/firehose/rate-controller.js";
import type { Sink } from "../../src/sink/sink.js";
import { eventually } from "./eventually.js";

/** A small valid envelope; `pad` bytes of filler make lines of a chosen size. */
export function envelope(id: number, pad = 0, entity: Envelope["entity"] = "response"): Envelope {
  return {
    entity,
    id,
    source: "webhook",
    dedup_key: `${entity}:${id}:1700000000`,
    received_at: "2026-11-27T08:00:00.000Z",
    created_at: null,
    updated_at: "2023-11-14T22:13:20.000Z",
    data: { id, score: id % 11, ...(pad > 0 ? { pad: "x".repeat(pad) } : {}) },
  };
}

/** An envelope whose serialized line (with "\n") is exactly `bytes` long. */
export function envelopeOfSize(id: number, bytes: number): Envelope {
  const base = Buffer.byteLength(serializeEnvelope(envelope(id, 1))) - 1;
  const e = envelope(id, bytes - base);
  if (Buffer.byteLength(serializeEnvelope(e)) !== bytes) throw new Error("cannot size envelope");
  return e;
}

export const lineOf = (e: Envelope): string => serializeEnvelope(e);

export type PutReply = {
  FailedPutCount: number;
  RequestResponses: Array<{ RecordId?: string; ErrorCode?: string; ErrorMessage?: string }>;
};

/** Everything a fake Firehose saw, call by call, record by record. */
export interface Recorded {
  calls: string[][];
  /** Lines of every record Firehose accepted (the fake reports which). */
  accepted: string[];
}

export function okReply(n: number): PutReply {
  return {
    FailedPutCount: 0,
    RequestResponses: Array.from({ length: n }, (_, i) => ({ RecordId: `rid-${i}-${Math.random()}` })),
  };
}

/** Splits a Firehose record's Data back into its lines. */
export function linesOfRecord(data: Uint8Array): string[] {
  const text = Buffer.from(data).toString("utf8");
  return text.split(/(?<=\n)/).filter((l) => l.length > 0);
}

export interface Harness {
  sink: Sink;
  metrics: Metrics;
  dir: string;
  recorded: Recorded;
  s3Puts: Array<{ Bucket: string; Key: string; Body: string }>;
  /** Resolves when `pred` holds (polling), or throws after `ms`. */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  /** Decides each PutRecordBatch reply from the records' data; may throw an SDK-style error. */
  firehose: (records: Uint8Array[], call: number) => PutReply | Promise<PutReply>;
  s3?: (input: { Bucket: string; Key: string; Body: string }, call: number) => void | Promise<void>;
  deadLetter?: { bucket: string; prefix: string };
  settings?: Partial<FirehoseSinkSettings>;
  tuning?: Partial<ShipperTuning>;
  packLimits?: Partial<PackLimits>;
  spoolSegmentBytes?: number;
  dir?: string;
  rateControl?: RateControllerOptions;
}

export async function openHarness(opts: HarnessOptions): Promise<Harness> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "firehose-sink-")));
  const firehose = new FirehoseClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  const s3 = new S3Client({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  const fhMock = mockClient(firehose);
  const s3Mock = mockClient(s3);
  const recorded: Recorded = { calls: [], accepted: [] };
  const s3Puts: Harness["s3Puts"] = [];
  let calls = 0;
  fhMock.on(PutRecordBatchCommand).callsFake(async (input: PutRecordBatchCommandInput) => {
    const data = (input.Records ?? []).map((r) => r.Data as Uint8Array);
    recorded.calls.push(data.flatMap((d) => linesOfRecord(d)));
    const reply = await opts.firehose(data, calls++);
    reply.RequestResponses.forEach((r, i) => {
      if (r.RecordId) recorded.accepted.push(...linesOfRecord(data[i]!));
    });
    return reply;
  });
  let s3Calls = 0;
  s3Mock.on(PutObjectCommand).callsFake(async (input: { Bucket: string; Key: string; Body: Buffer | string }) => {
    const rec = { Bucket: input.Bucket, Key: input.Key, Body: Buffer.from(input.Body).toString("utf8") };
    await opts.s3?.(rec, s3Calls++);
    s3Puts.push(rec);
    return {};
  });
  const metrics = new Metrics({ defaults: false });
  const settings: FirehoseSinkSettings = {
    kind: "firehose",
    streamName: "test-stream",
    spoolDir: dir,
    spoolMaxBytes: 256 * 1024 * 1024,
    deadLetter: opts.deadLetter,
    lingerMs: 5,
    maxInFlight: 4,
    ...opts.settings,
  };
  const sink = await openFirehoseSink({
    settings,
    logger: silentLogger(),
    metrics,
    firehose,
    s3,
    tuning: { backoffBaseMs: 1, backoffCapMs: 20, blockedRetryMs: 30, deadLetterRetryCapMs: 20, ...opts.tuning },
    // These tests are about packing and durability: the send rate never holds them back (test/unit/firehose-rate-*).
    rateControl: opts.rateControl ?? { initialRate: 1024 ** 3, minRate: 256 * 1024 ** 2 },
    ...(opts.packLimits ? { packLimits: opts.packLimits } : {}),
    ...(opts.spoolSegmentBytes ? { spoolSegmentBytes: opts.spoolSegmentBytes } : {}),
  });
  return {
    sink,
    metrics,
    dir,
    recorded,
    s3Puts,
    async until(pred, ms = 10_000, what = "condition") {
      await eventually(pred, { timeoutMs: ms, intervalMs: 5, what });
    },
    async metric(name, labels = {}) {
      const m = metrics.registry.getSingleMetric(`wootric_firehose_${name}`);
      if (!m) return NaN;
      const values = (await m.get()).values;
      const hit = values.find(
        (v) =>
          Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val) &&
          !("metricName" in v && String(v.metricName).endsWith("_bucket")),
      );
      return hit?.value ?? 0;
    },
    async cleanup() {
      await sink.close(100);
      fhMock.restore();
      s3Mock.restore();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An SDK-shaped service error (what the client throws for a JSON error body). */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}
