import type { FirehoseClient } from "@aws-sdk/client-firehose";
import type { S3Client } from "@aws-sdk/client-s3";
import { makeFirehoseClient, makeS3Client } from "../../aws/clients.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import { type Envelope, serializeEnvelope } from "../../records/envelope.js";
import { type Readiness, type Sink, SinkUnavailableError } from "../sink.js";
import { Spool } from "../spool/spool.js";
import {
  DEFAULT_PACK_LIMITS,
  DEFAULT_TUNING,
  type FirehoseSinkSettings,
  type PackLimits,
  type ShipperTuning,
} from "./config.js";
import { S3DeadLetterWriter } from "./dead-letter.js";
import type { RateControllerOptions } from "./rate-controller.js";
import { FirehoseService } from "./service.js";
import { Shipper } from "./shipper.js";
import { registerProducerMetrics } from "./sink-metrics.js";

export type { FirehoseSinkSettings } from "./config.js";

export interface FirehoseSinkDeps {
  settings: FirehoseSinkSettings;
  logger: Logger;
  metrics: Metrics;
  /** Injected in tests (aws-sdk-client-mock); by default built from the standard AWS SDK environment. */
  firehose?: FirehoseClient;
  s3?: S3Client;
  tuning?: Partial<ShipperTuning>;
  packLimits?: Partial<PackLimits>;
  spoolSegmentBytes?: number;
  /** Overrides of the adaptive rate controller (tests that are about something else pin it high). */
  rateControl?: RateControllerOptions;
  /** Production always fsyncs; only the benchmark turns this off to measure what fsync costs. */
  fsync?: boolean;
}

/**
 * The Firehose sink: `write` appends to the local spool and resolves once the records are fsynced there; a background
 * shipper drains the spool to Firehose. Records survive crashes, outages and restarts in the spool.
 */
export async function openFirehoseSink(deps: FirehoseSinkDeps): Promise<Sink> {
  const { settings, logger } = deps;
  const tuning: ShipperTuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const limits: PackLimits = { ...DEFAULT_PACK_LIMITS, ...deps.packLimits };
  const spool = await Spool.open({
    dir: settings.spoolDir,
    maxBytes: settings.spoolMaxBytes,
    logger,
    ...(deps.spoolSegmentBytes !== undefined ? { segmentBytes: deps.spoolSegmentBytes } : {}),
    ...(deps.fsync !== undefined ? { fsync: deps.fsync } : {}),
  });
  const metrics = registerProducerMetrics(deps.metrics, spool);
  const client = deps.firehose ?? makeFirehoseClient({ requestTimeoutMs: tuning.requestTimeoutMs });
  const ownS3 = settings.deadLetter && !deps.s3 ? makeS3Client() : undefined;
  const deadLetters = settings.deadLetter ? new S3DeadLetterWriter(deps.s3 ?? ownS3!, settings.deadLetter) : undefined;
  const shipper = new Shipper({
    spool,
    service: new FirehoseService(client, settings.streamName, tuning.requestTimeoutMs),
    deadLetters,
    limits,
    tuning,
    pacing: {
      recordsPerSecond: settings.maxRecordsPerSecond,
      bytesPerSecond: settings.maxBytesPerSecond,
      requestsPerSecond: settings.maxRequestsPerSecond,
    },
    maxInFlight: settings.maxInFlight,
    lingerMs: settings.lingerMs,
    logger,
    metrics,
    ...(deps.rateControl ? { rateControl: deps.rateControl } : {}),
  });
  shipper.start();
  logger.info("firehose sink ready", {
    stream: settings.streamName,
    spoolDir: settings.spoolDir,
    spoolMaxBytes: settings.spoolMaxBytes,
    deadLetter: settings.deadLetter ? `s3://${settings.deadLetter.bucket}/${settings.deadLetter.prefix}` : "(not set)",
  });

  let closing: Promise<void> | undefined;
  return {
    kind: "firehose",
    async write(envelopes: readonly Envelope[]): Promise<void> {
      if (closing) throw new SinkUnavailableError("the Firehose sink is shutting down");
      await spool.append(envelopes.map((e) => Buffer.from(serializeEnvelope(e), "utf8")));
    },
    readiness(): Readiness {
      if (closing) return { ready: false, reason: "the Firehose sink is shutting down" };
      if (spool.brokenReason) return { ready: false, reason: `spool: ${spool.brokenReason}` };
      const shipping = shipper.readiness();
      if (!shipping.ready) return shipping;
      const disk = spool.diskBytes();
      if (disk >= settings.spoolMaxBytes * 0.99) {
        return {
          ready: false,
          reason: `the spool is full (${disk} of SPOOL_MAX_BYTES=${settings.spoolMaxBytes} bytes)`,
        };
      }
      return { ready: true };
    },
    close(deadlineMs: number): Promise<void> {
      closing ??= (async () => {
        const { drained } = await shipper.stop(deadlineMs);
        await spool.close();
        const left = spool.stats();
        if (drained) logger.info("firehose sink closed; spool drained");
        else
          logger.warn("firehose sink closed before the spool drained; the rest is sent on the next start", {
            records: left.records,
            bytes: left.bytes,
          });
        if (!deps.firehose) client.destroy();
        ownS3?.destroy();
      })();
      return closing;
    },
  };
}
