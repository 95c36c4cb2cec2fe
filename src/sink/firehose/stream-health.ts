import type { Logger } from "../../log.js";
import type { Spool } from "../spool/spool.js";
import type { ProducerMetrics } from "./sink-metrics.js";

interface Blocked {
  code: string;
  message: string;
  since: number;
}

/**
 * Whether the stream is usable: blocked while Firehose refuses it for reasons retrying will not fix soon (stream
 * missing, access denied, KMS key unusable), with one loud log line when it starts, one a minute while it lasts, and
 * one when it ends. The shipper stops reading new batches while blocked; records wait in the spool.
 */
export class StreamHealth {
  private state: Blocked | undefined;

  constructor(
    private readonly streamName: string,
    private readonly spool: Spool,
    private readonly logger: Logger,
    private readonly metrics: ProducerMetrics,
  ) {}

  get blocked(): Readonly<Blocked> | undefined {
    return this.state;
  }

  block(outcome: { code: string; message: string }): void {
    if (!this.state) {
      this.logger.error(
        "FIREHOSE STREAM UNUSABLE: stopped draining; records are kept in the spool and retried slowly. Check that the stream exists in this region and account, the IAM policy allows firehose:PutRecordBatch, and the KMS key is usable.",
        { stream: this.streamName, code: outcome.code, message: outcome.message, spool: this.spool.stats() },
      );
      this.state = { code: outcome.code, message: outcome.message, since: Date.now() };
      this.metrics.blocked.set(1);
    } else if (Date.now() - this.state.since > 60_000) {
      this.logger.error("Firehose stream still unusable", {
        stream: this.streamName,
        code: outcome.code,
        spool: this.spool.stats(),
      });
      this.state.since = Date.now();
    }
  }

  unblock(): void {
    if (!this.state) return;
    this.logger.info("Firehose stream usable again; draining the spool", { stream: this.streamName });
    this.state = undefined;
    this.metrics.blocked.set(0);
  }

  /** Why the sink is not ready because of the stream, if it is not. */
  reason(): string | undefined {
    if (!this.state) return undefined;
    return `Firehose stream "${this.streamName}" is unusable (${this.state.code}: ${this.state.message}); records are kept in the spool and retried`;
  }
}
