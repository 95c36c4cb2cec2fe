import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * A local Firehose speaking the JSON protocol (application/x-amz-json-1.1, X-Amz-Target: Firehose_20150804.<Op>),
 * enough for PutRecordBatch/PutRecord/DescribeDeliveryStream. Unlike moto it can fail: whole requests (outage modes)
 * or single entries (partial failures), and it enforces the real limits (500 records, 4 MiB, 1,024,000 B per record).
 */
export type StubMode =
  | { kind: "ok" }
  | { kind: "unavailable" } // HTTP 500 ServiceUnavailableException
  | { kind: "throttle" } // HTTP 400 ThrottlingException
  | { kind: "not_found" } // HTTP 400 ResourceNotFoundException
  | { kind: "hang" }; // never answers (until the mode changes)

/**
 * A per-stream throughput quota, as Firehose enforces it on Direct PUT streams (PutRecord + PutRecordBatch combined):
 * token buckets on bytes/s, records/s and requests/s that hold `burstSeconds` of quota and start full. An entry that
 * finds too few byte or record tokens fails alone with ServiceUnavailableException "Slow down."; a call that finds no
 * request token fails whole with HTTP 500 ServiceUnavailableException.
 */
export interface StubQuota {
  bytesPerSecond: number;
  recordsPerSecond: number;
  requestsPerSecond: number;
  /** Seconds of quota each bucket holds (default 1). */
  burstSeconds?: number;
}

/** What one caller (told apart by the access key id in its SigV4 Authorization header) sent and got accepted. */
export interface CallerStats {
  calls: number;
  entries: number;
  acceptedEntries: number;
  acceptedBytes: number;
  acceptedLines: number;
  /** Entries refused "Slow down.", counting those of calls refused whole. */
  throttledEntries: number;
  throttledCalls: number;
  /** Arrival time (performance.now()) of the first call and of the last accepted entry. */
  firstCallAt: number;
  lastAcceptedAt: number;
}

export interface FirehoseStub {
  endpoint: string;
  /** Lines of every record accepted, in arrival order (when keepData). */
  lines: string[];
  stats: {
    calls: number;
    records: number;
    bytes: number;
    acceptedRecords: number;
    acceptedBytes: number;
    /** Newline-terminated lines inside accepted records. */
    acceptedLines: number;
    /** What Firehose would bill for the accepted records: each rounded up to 5 KB (5,120 B). */
    billedUnits: number;
    failedEntries: number;
    errors: number;
    /** Entries that failed "Slow down." because the quota ran out, and calls refused whole for the requests/s quota. */
    throttledEntries: number;
    throttledCalls: number;
    /** Largest call seen, in records and in raw bytes. */
    maxCallRecords: number;
    maxCallBytes: number;
  };
  /** Per access key id (one per producer in the multi-process benchmarks). */
  callers: Map<string, CallerStats>;
  /** Accepted bytes over time: one [performance.now(), bytes, caller] sample per call with accepted entries. */
  acceptedLog: Array<[number, number, string]>;
  setMode(mode: StubMode): void;
  /** Enforce a stream quota from now on (undefined: none). */
  setQuota(quota: StubQuota | undefined): void;
  /** Fraction [0, 1) of entries answered with ServiceUnavailableException "Slow down." in otherwise good replies. */
  setEntryFailureRate(rate: number): void;
  /** Artificial latency per PutRecordBatch (ms). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export interface StubOptions {
  streamName?: string;
  keepData?: boolean;
  seed?: number;
}

class Bucket {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }
  has(n: number): boolean {
    const t = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    return this.tokens >= n;
  }
  take(n: number): boolean {
    if (!this.has(n)) return false;
    this.tokens -= n;
    return true;
  }
}

function accessKeyOf(req: IncomingMessage): string {
  return /Credential=([^/,\s]+)/.exec(String(req.headers.authorization ?? ""))?.[1] ?? "anonymous";
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function startFirehoseStub(opts: StubOptions = {}): Promise<FirehoseStub> {
  const streamName = opts.streamName ?? "stub-stream";
  const keepData = opts.keepData ?? true;
  const random = lcg(opts.seed ?? 42);
  let mode: StubMode = { kind: "ok" };
  let failureRate = 0;
  let latencyMs = 0;
  let quota: { bytes: Bucket; records: Bucket; requests: Bucket } | undefined;
  const hanging: ServerResponse[] = [];
  const stub: FirehoseStub = {
    endpoint: "",
    lines: [],
    stats: {
      calls: 0,
      records: 0,
      bytes: 0,
      acceptedRecords: 0,
      acceptedBytes: 0,
      acceptedLines: 0,
      billedUnits: 0,
      failedEntries: 0,
      errors: 0,
      throttledEntries: 0,
      throttledCalls: 0,
      maxCallRecords: 0,
      maxCallBytes: 0,
    },
    callers: new Map(),
    acceptedLog: [],
    setQuota(q) {
      const burst = q?.burstSeconds ?? 1;
      quota = q && {
        bytes: new Bucket(q.bytesPerSecond, q.bytesPerSecond * burst),
        records: new Bucket(q.recordsPerSecond, q.recordsPerSecond * burst),
        requests: new Bucket(q.requestsPerSecond, q.requestsPerSecond * burst),
      };
    },
    setMode(m) {
      mode = m;
      if (m.kind !== "hang")
        for (const res of hanging.splice(0)) error(res, 500, "ServiceUnavailableException", "recovered");
    },
    setEntryFailureRate(r) {
      failureRate = r;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close: async () => undefined,
  };

  function send(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": randomUUID(),
    });
    res.end(text);
  }

  function error(res: ServerResponse, status: number, type: string, message: string): void {
    stub.stats.errors++;
    send(res, status, { __type: type, message });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers["x-amz-target"] ?? "");
    const op = target.split(".")[1] ?? "";
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    } catch {
      return error(res, 400, "SerializationException", "body is not JSON");
    }
    if (op === "DescribeDeliveryStream") {
      if (body.DeliveryStreamName !== streamName)
        return error(res, 400, "ResourceNotFoundException", `Firehose ${String(body.DeliveryStreamName)} not found.`);
      return send(res, 200, {
        DeliveryStreamDescription: {
          DeliveryStreamName: streamName,
          DeliveryStreamARN: `arn:aws:firehose:us-east-1:123456789012:deliverystream/${streamName}`,
          DeliveryStreamStatus: "ACTIVE",
          DeliveryStreamType: "DirectPut",
          VersionId: "1",
          Destinations: [],
          HasMoreDestinations: false,
        },
      });
    }
    if (op !== "PutRecordBatch" && op !== "PutRecord") return error(res, 400, "UnknownOperationException", op);
    stub.stats.calls++;
    const callerKey = accessKeyOf(req);
    let caller = stub.callers.get(callerKey);
    if (!caller) {
      caller = {
        calls: 0,
        entries: 0,
        acceptedEntries: 0,
        acceptedBytes: 0,
        acceptedLines: 0,
        throttledEntries: 0,
        throttledCalls: 0,
        firstCallAt: performance.now(),
        lastAcceptedAt: 0,
      };
      stub.callers.set(callerKey, caller);
    }
    caller.calls++;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    switch (mode.kind) {
      case "unavailable":
        return error(res, 500, "ServiceUnavailableException", "Service is unavailable.");
      case "throttle":
        return error(res, 400, "ThrottlingException", "Rate exceeded");
      case "not_found":
        return error(
          res,
          400,
          "ResourceNotFoundException",
          `Firehose ${streamName} under account 123456789012 not found.`,
        );
      case "hang":
        hanging.push(res);
        return;
      case "ok":
        break;
    }
    if (body.DeliveryStreamName !== streamName)
      return error(res, 400, "ResourceNotFoundException", `Firehose ${String(body.DeliveryStreamName)} not found.`);
    const records = (op === "PutRecord" ? [body.Record] : (body.Records as unknown[])) as
      | Array<{ Data?: string }>
      | undefined;
    if (!Array.isArray(records) || records.length === 0 || records.length > 500) {
      return error(res, 400, "InvalidArgumentException", "Records must hold 1 to 500 entries");
    }
    const datas = records.map((r) => Buffer.from(r?.Data ?? "", "base64"));
    const total = datas.reduce((n, d) => n + d.length, 0);
    if (datas.some((d) => d.length > 1_024_000 || d.length === 0)) {
      return error(res, 400, "ValidationException", "Member must have length less than or equal to 1024000");
    }
    if (total > 4 * 1024 * 1024) return error(res, 400, "InvalidArgumentException", "Records size exceeds 4 MB limit");
    stub.stats.records += datas.length;
    stub.stats.bytes += total;
    stub.stats.maxCallRecords = Math.max(stub.stats.maxCallRecords, datas.length);
    stub.stats.maxCallBytes = Math.max(stub.stats.maxCallBytes, total);
    caller.entries += datas.length;
    if (quota && !quota.requests.take(1)) {
      stub.stats.throttledCalls++;
      caller.throttledCalls++;
      caller.throttledEntries += datas.length;
      return error(res, 500, "ServiceUnavailableException", "Slow down.");
    }
    let failed = 0;
    let acceptedBytes = 0;
    const responses = datas.map((d) => {
      if (quota && !(quota.records.has(1) && quota.bytes.has(d.length))) {
        failed++;
        stub.stats.throttledEntries++;
        caller.throttledEntries++;
        return { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." };
      }
      quota?.records.take(1);
      quota?.bytes.take(d.length);
      if (failureRate > 0 && random() < failureRate) {
        failed++;
        return { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." };
      }
      stub.stats.acceptedRecords++;
      stub.stats.acceptedBytes += d.length;
      acceptedBytes += d.length;
      stub.stats.billedUnits += Math.max(1, Math.ceil(d.length / 5120));
      let lines = 0;
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      stub.stats.acceptedLines += lines;
      caller.acceptedEntries++;
      caller.acceptedBytes += d.length;
      caller.acceptedLines += lines;
      if (keepData) for (const l of d.toString("utf8").split(/(?<=\n)/)) if (l) stub.lines.push(l);
      return { RecordId: randomUUID() };
    });
    if (acceptedBytes > 0) {
      caller.lastAcceptedAt = performance.now();
      stub.acceptedLog.push([caller.lastAcceptedAt, acceptedBytes, callerKey]);
    }
    stub.stats.failedEntries += failed;
    if (op === "PutRecord") {
      if (failed) return error(res, 500, "ServiceUnavailableException", "Slow down.");
      return send(res, 200, { RecordId: (responses[0] as { RecordId: string }).RecordId, Encrypted: false });
    }
    return send(res, 200, { FailedPutCount: failed, Encrypted: false, RequestResponses: responses });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => error(res, 500, "InternalFailure", String(err)));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  stub.endpoint = `http://127.0.0.1:${port}`;
  stub.close = async () => {
    for (const res of hanging.splice(0)) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return stub;
}

/** Environment for a child process to use the stub (dummy credentials; only loopback). */
export function stubEnv(stub: FirehoseStub): Record<string, string> {
  return {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_ENDPOINT_URL_FIREHOSE: stub.endpoint,
  };
}
