import { makeS3Client } from "../aws/clients.js";
import type { StateLocation } from "../config/index.js";
import { DirStateStore } from "./dir-store.js";
import { S3StateStore } from "./s3-store.js";
import type { StateStore } from "./store.js";

/** The store named by STATE_URL: s3://bucket/prefix, or a directory. */
export function openStateStore(location: StateLocation, env: NodeJS.ProcessEnv = process.env): StateStore {
  if (location.kind === "s3") return new S3StateStore(makeS3Client(env), location.bucket, location.prefix);
  return new DirStateStore(location.path);
}
