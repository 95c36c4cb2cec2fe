import type { Readiness } from "../../src/ops/readiness.js";
import type { Envelope } from "../../src/records/envelope.js";
import { type Sink, SinkUnavailableError } from "../../src/sink/sink.js";

/** An in-memory Sink for engine tests: records what was acknowledged; can be told to fail after N writes. */
export class MemorySink implements Sink {
  readonly kind = "memory";
  readonly written: Envelope[] = [];
  writes = 0;
  /** Reject every write after this many successful ones (simulates a sink outage / crash point). */
  failAfterWrites: number | undefined;

  async write(envelopes: readonly Envelope[]): Promise<void> {
    if (this.failAfterWrites !== undefined && this.writes >= this.failAfterWrites) {
      throw new SinkUnavailableError("memory sink told to fail");
    }
    this.writes += 1;
    this.written.push(...envelopes);
  }

  readiness(): Readiness {
    return { ready: true };
  }

  async close(): Promise<void> {}

  ids(entity: string): Set<string> {
    return new Set(this.written.filter((e) => e.entity === entity).map((e) => String(e.id)));
  }

  byEntity(entity: string): Envelope[] {
    return this.written.filter((e) => e.entity === entity);
  }
}
