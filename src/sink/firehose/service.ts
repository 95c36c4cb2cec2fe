import {
  type FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandInput,
  type PutRecordBatchCommandOutput,
} from "@aws-sdk/client-firehose";
import { withTimeoutSignal } from "../../common/clock.js";
import { type PackedRecord, recordData } from "./packer.js";

/** The PutRecordBatch input for packed records; raw bytes go in `Data` (the SDK base64-encodes once). */
export function buildPutRecordBatchInput(
  streamName: string,
  records: readonly PackedRecord[],
): PutRecordBatchCommandInput {
  return {
    DeliveryStreamName: streamName,
    Records: records.map((r) => ({ Data: recordData(r) })),
  };
}

/** Per-entry result, index-aligned with the request's records. */
export type EntryResult = { ok: true; recordId: string } | { ok: false; errorCode: string; errorMessage: string };

/**
 * What one PutRecordBatch call produced. Partial failure is a first-class result (`replied` with failed entries),
 * never an exception, so the caller has to walk the entries.
 *  - retryable: throttling, 5xx, network, timeouts — back off and resend the same records;
 *  - invalid:   the request itself is unacceptable (InvalidArgumentException, size validation) — split it;
 *  - blocked:   the stream or credentials are unusable (missing stream, access denied, KMS) — stop and retry slowly.
 */
export type PutOutcome =
  | { kind: "replied"; entries: EntryResult[] }
  | { kind: "retryable"; code: string; message: string }
  | { kind: "invalid"; code: string; message: string }
  | { kind: "blocked"; code: string; message: string };

const BLOCKING_CODES = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "AccessDenied",
  "InvalidKMSResourceException",
  "KMSAccessDeniedException",
  "KMSDisabledException",
  "KMSNotFoundException",
  "KMSInvalidStateException",
  "InvalidSourceException",
  "ExpiredTokenException",
  "ExpiredToken",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidSignatureException",
  "MissingAuthenticationTokenException",
  "IncompleteSignature",
  "NotAuthorized",
  "CredentialsProviderError",
  "ValidationException",
]);

/**
 * Codes that mean "over the stream's quota, slow down": per entry, Firehose reports throttling as
 * ServiceUnavailableException "Slow down." (PutRecordBatch API reference); whole calls fail with these.
 */
const THROTTLING_CODES = new Set([
  "ServiceUnavailableException",
  "ThrottlingException",
  "LimitExceededException",
  "TooManyRequestsException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "SlowDown",
]);

export function isThrottlingCode(code: string): boolean {
  return THROTTLING_CODES.has(code);
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; code?: string; Code?: string; __type?: string };
  return e?.name && e.name !== "Error" ? e.name : (e?.code ?? e?.Code ?? e?.__type ?? "UnknownError");
}

/** Classifies a thrown PutRecordBatch error. Unknown errors are retryable: never drop on a surprise. */
export function classifyError(err: unknown): Exclude<PutOutcome, { kind: "replied" }> {
  const code = errorCode(err);
  const message = (err as Error)?.message ?? String(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // The stream itself refuses puts (its source is a Kinesis data stream): no record is at fault, none may be split off.
  if (code === "InvalidArgumentException" && /not permitted/i.test(message)) return { kind: "blocked", code, message };
  if (code === "InvalidArgumentException") return { kind: "invalid", code, message };
  // A too-large record or request fails API validation as a whole; splitting isolates it.
  if (code === "ValidationException" && /length|size|exceed|too large|1024000|4 ?MB/i.test(message)) {
    return { kind: "invalid", code, message };
  }
  if (BLOCKING_CODES.has(code) || status === 401 || status === 403) return { kind: "blocked", code, message };
  return { kind: "retryable", code, message };
}

/** Sends packed records with one PutRecordBatch call and reports per-entry results. */
export class FirehoseService {
  constructor(
    private readonly client: FirehoseClient,
    readonly streamName: string,
    private readonly requestTimeoutMs: number,
  ) {}

  async put(records: readonly PackedRecord[]): Promise<PutOutcome> {
    const input = buildPutRecordBatchInput(this.streamName, records);
    let reply: PutRecordBatchCommandOutput;
    try {
      reply = await withTimeoutSignal(undefined, this.requestTimeoutMs, (abortSignal) =>
        this.client.send(new PutRecordBatchCommand(input), { abortSignal }),
      );
    } catch (err) {
      return classifyError(err);
    }
    const responses = reply.RequestResponses ?? [];
    const entries: EntryResult[] = records.map((_, i) => {
      const r = responses[i];
      if (r?.RecordId && !r.ErrorCode) return { ok: true, recordId: r.RecordId };
      return {
        ok: false,
        errorCode: r?.ErrorCode ?? "MissingResponseEntry",
        errorMessage: r?.ErrorMessage ?? "Firehose returned no RecordId for this entry",
      };
    });
    return { kind: "replied", entries };
  }
}
