import { S3Client } from "@aws-sdk/client-s3";
import { ConfigError } from "../config/index.js";

/** The variables that make the service talk to AWS, and so need a region. */
export function variablesNeedingRegion(env: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => typeof env[name] === "string" && env[name]!.trim() !== "";
  const names: string[] = [];
  if (set("FIREHOSE_STREAM_NAME")) names.push("FIREHOSE_STREAM_NAME");
  if (set("STATE_URL") && env.STATE_URL!.trim().startsWith("s3://")) names.push("STATE_URL");
  if (set("DEAD_LETTER_URL")) names.push("DEAD_LETTER_URL");
  // Read by replay: dead letters Firehose delivered (DATA_URL) and the records it could not (FIREHOSE_ERROR_URL).
  if (set("DATA_URL") && env.DATA_URL!.trim().startsWith("s3://")) names.push("DATA_URL");
  if (set("FIREHOSE_ERROR_URL") && env.FIREHOSE_ERROR_URL!.trim().startsWith("s3://")) names.push("FIREHOSE_ERROR_URL");
  return names;
}

/** The region from the environment: AWS_REGION, else AWS_DEFAULT_REGION (the AWS CLI's name for it). */
export function regionFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const pick = (v: string | undefined) => (v && v.trim() !== "" ? v.trim() : undefined);
  return pick(env.AWS_REGION) ?? pick(env.AWS_DEFAULT_REGION);
}

/**
 * Resolves the region the way the SDK will (environment, then the shared config profile, then the EC2/ECS instance
 * metadata) and throws a ConfigError naming AWS_REGION when none is found but AWS is configured. Without this the
 * SDK fails every call with "Region is missing" while the service looks healthy.
 */
export async function requireAwsRegion(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const needed = variablesNeedingRegion(env);
  if (needed.length === 0) return undefined;
  const fromEnv = regionFromEnv(env);
  if (fromEnv) return fromEnv;
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    throw new ConfigError([
      `AWS_REGION is not set: ${needed.join(", ")} ${needed.length > 1 ? "are" : "is"} configured, so the AWS SDK needs a region (set AWS_REGION=us-east-1 or whichever region holds the stream and bucket; AWS_DEFAULT_REGION or a profile's region also work)`,
    ]);
  } finally {
    probe.destroy();
  }
}
