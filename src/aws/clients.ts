import { FirehoseClient } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import { regionFromEnv } from "./region.js";

/**
 * AWS clients configured from the standard SDK environment (AWS_REGION or AWS_DEFAULT_REGION, the credentials chain,
 * AWS_ENDPOINT_URL_FIREHOSE / AWS_ENDPOINT_URL_S3). A custom S3 endpoint (moto, MinIO) needs path-style addressing.
 */
export function makeS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const customEndpoint = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  const region = regionFromEnv(env);
  return new S3Client({ forcePathStyle: customEndpoint, maxAttempts: 5, ...(region ? { region } : {}) });
}

/**
 * No client-wide timeout: every call passes its own `abortSignal` (FirehoseService: the shipper's requestTimeoutMs,
 * 60 s by default; doctor: 10 s), which aborts the HTTP request. maxAttempts defaults to 1 because the shipper
 * retries itself, with backoff and per-entry resends the SDK's retry cannot do.
 */
export function makeFirehoseClient(opts: { maxAttempts?: number } = {}): FirehoseClient {
  // The SDK itself reads only AWS_REGION; AWS_DEFAULT_REGION is passed explicitly so both names work.
  const region = regionFromEnv();
  return new FirehoseClient({ maxAttempts: opts.maxAttempts ?? 1, ...(region ? { region } : {}) });
}
