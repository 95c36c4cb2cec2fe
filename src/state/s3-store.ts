import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { assertKey, StateConflictError, type StateStore, type StoredDoc, type WriteCondition } from "./store.js";

/**
 * S3-backed state using conditional writes: PutObject with If-None-Match: * to create and If-Match: <ETag> to
 * replace. S3 answers 412 PreconditionFailed when the condition fails and 409 ConditionalRequestConflict when two
 * conditional writes race; both mean another writer got there first.
 */
export class S3StateStore implements StateStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async read(key: string): Promise<StoredDoc | undefined> {
    assertKey(key);
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      const body = (await out.Body?.transformToString("utf8")) ?? "";
      if (!out.ETag) throw new Error(`S3 returned no ETag for ${this.objectKey(key)}`);
      return { body, version: out.ETag };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === "NoSuchKey" || err.$metadata.httpStatusCode === 404))
        return undefined;
      throw err;
    }
  }

  async write(key: string, body: string, condition: WriteCondition): Promise<string> {
    assertKey(key);
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          ContentType: "application/json",
          ...("ifAbsent" in condition ? { IfNoneMatch: "*" } : { IfMatch: condition.ifVersion }),
        }),
      );
      if (!out.ETag) throw new Error(`S3 returned no ETag for ${this.objectKey(key)}`);
      return out.ETag;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The SDK retries a PutObject whose answer was lost (timeout, reset); if the first attempt had landed, the
      // retry fails its own condition. The object then holds exactly our body: that is our write, not a conflict.
      const current = await this.read(key);
      if (current !== undefined && current.body === body) return current.version;
      throw new StateConflictError(key, `S3 ${(err as S3ServiceException).name}`);
    }
  }

  /** Unconditional: conditional DeleteObject is not available everywhere S3 is emulated. Only doctor uses it. */
  async remove(key: string, _version: string): Promise<void> {
    assertKey(key);
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return;
      throw err;
    }
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}

function isConditionFailure(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  const status = err.$metadata.httpStatusCode;
  return (
    status === 412 || status === 409 || err.name === "PreconditionFailed" || err.name === "ConditionalRequestConflict"
  );
}
