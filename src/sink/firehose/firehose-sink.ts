import type { FirehoseClient } from "@aws-sdk/client-firehose";
import type { S3Client } from "@aws-sdk/client-s3";
import { makeFirehoseClient, makeS3Client } from "../../aws/clients.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import type { Readiness } from "../../ops/readiness.js";
import { type Envelope, serializeEnvelope } from "../../records/envelope.js";
import { RecordNotSerialisableError, type Sink, SinkUnavailableError } from "../sink.js";
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
import { drainSeconds, registerProducerMetrics, registerRateMetrics } from "./sink-metrics.js";

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
 * shipper drains the spool to Firehose at the rate the stream accepts. Records survive crashes, outages and restarts
 * in the spool.
 */
export class FirehoseSink implements Sink {
  readonly kind = "firehose";
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly settings: FirehoseSinkSettings,
    private readonly logger: Logger,
    private readonly spool: Spool,
    private readonly shipper: Shipper,
    /** Clients this sink created (and so destroys on close). */
    private readonly owned: Array<{ destroy(): void }>,
  ) {}

  static async open(deps: FirehoseSinkDeps): Promise<FirehoseSink> {
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
    const owned: Array<{ destroy(): void }> = [];
    const client = deps.firehose ?? makeFirehoseClient();
    if (!deps.firehose) owned.push(client);
    let deadLetters: S3DeadLetterWriter | undefined;
    if (settings.deadLetter) {
      const s3 = deps.s3 ?? makeS3Client();
      if (!deps.s3) owned.push(s3);
      deadLetters = new S3DeadLetterWriter(s3, settings.deadLetter);
    }
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
    registerRateMetrics(deps.metrics, shipper.rate, () => spool.stats().bytes);
    shipper.start();
    logger.info("firehose sink ready", {
      stream: settings.streamName,
      spoolDir: settings.spoolDir,
      spoolMaxBytes: settings.spoolMaxBytes,
      deadLetter: settings.deadLetter
        ? `s3://${settings.deadLetter.bucket}/${settings.deadLetter.prefix}`
        : "(not set)",
      maxBytesPerSecond: settings.maxBytesPerSecond ?? "(adaptive, no ceiling)",
    });
    return new FirehoseSink(settings, logger, spool, shipper, owned);
  }

  async write(envelopes: readonly Envelope[]): Promise<void> {
    if (this.closing) throw new SinkUnavailableError("the Firehose sink is shutting down");
    let payloads: Buffer[];
    try {
      payloads = envelopes.map((e) => Buffer.from(serializeEnvelope(e), "utf8"));
    } catch (err) {
      throw new RecordNotSerialisableError((err as Error).message, { cause: err });
    }
    // Each write is its own group-commit entry: it succeeds or fails whole, apart from the others.
    await this.spool.append(payloads);
  }

  readiness(): Readiness {
    const r = this.readinessNow();
    const corrupt = this.spool.corruption().files.length;
    if (corrupt > 0) {
      r.warnings = [
        `spool: ${corrupt} file(s) of corrupt bytes set aside in SPOOL_DIR; inspect them, then move or rename them to acknowledge (docs/hardening.md)`,
      ];
    }
    return r;
  }

  private readinessNow(): Readiness {
    const detail = this.detail();
    if (this.closing) return { ready: false, reason: "the Firehose sink is shutting down", detail };
    if (this.spool.brokenReason) return { ready: false, reason: `spool: ${this.spool.brokenReason}`, detail };
    const shipping = this.shipper.readiness();
    if (!shipping.ready) return { ...shipping, detail };
    const disk = this.spool.diskBytes();
    if (disk >= this.settings.spoolMaxBytes * 0.99) {
      return {
        ready: false,
        reason: `the spool is full (${disk} of SPOOL_MAX_BYTES=${this.settings.spoolMaxBytes} bytes)`,
        detail,
      };
    }
    return { ready: true, detail };
  }

  /** Backlog and rate for /readyz: how long the spool would take to drain at the current rate. */
  private detail(): Record<string, number> {
    const { bytes, records } = this.spool.stats();
    const rate = this.shipper.rate.snapshot();
    return {
      spool_records: records,
      spool_bytes: bytes,
      send_bytes_per_second: Math.round(rate.acceptedBytesPerSecond),
      rate_limit_bytes_per_second: Math.round(rate.allowedBytesPerSecond),
      drain_seconds: Math.round(drainSeconds(bytes, this.shipper.rate) * 10) / 10,
    };
  }

  close(deadlineMs: number): Promise<void> {
    this.closing ??= (async () => {
      const { drained } = await this.shipper.stop(deadlineMs);
      await this.spool.close();
      const left = this.spool.stats();
      if (drained) this.logger.info("firehose sink closed; spool drained");
      else
        this.logger.warn("firehose sink closed before the spool drained; the rest is sent on the next start", {
          records: left.records,
          bytes: left.bytes,
        });
      for (const c of this.owned) c.destroy();
    })();
    return this.closing;
  }
}

/** Opens the spool, starts shipping, and returns the sink. */
export function openFirehoseSink(deps: FirehoseSinkDeps): Promise<FirehoseSink> {
  return FirehoseSink.open(deps);
}
