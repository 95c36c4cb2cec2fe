import { SyncError } from "../common/errors.js";

/**
 * A tiny key → JSON document store with compare-and-swap, backing bookmarks and the poller lease.
 * Every write names the version it expects to replace (or that the key must be absent), so two writers can never
 * silently overwrite each other: the loser gets StateConflictError.
 */
export interface StoredDoc {
  body: string;
  /** Opaque version token (S3 ETag, or a content hash for the directory store). */
  version: string;
}

export type WriteCondition = { ifVersion: string } | { ifAbsent: true };

export interface StateStore {
  /** Human-readable location, for logs and doctor. */
  readonly location: string;
  read(key: string): Promise<StoredDoc | undefined>;
  /** Writes `body` if the condition holds; returns the new version. Throws StateConflictError otherwise. */
  write(key: string, body: string, condition: WriteCondition): Promise<string>;
  /** Removes a key if it still has `version` (best effort where the backend has no conditional delete). */
  remove(key: string, version: string): Promise<void>;
}

/**
 * State that may no longer be written by this run: another replica changed it, our lease is gone, or a document is
 * unreadable. Fatal unless a subclass says otherwise, and never followed by a "save what we have" write.
 */
export class StateError extends SyncError {}

export class StateConflictError extends StateError {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`state "${key}" was changed by another writer (${detail})`, true);
  }
}

/** Keys are relative paths made of safe segments only. */
export function assertKey(key: string): void {
  if (!/^[a-z0-9_-]+(\/[a-z0-9_.-]+)*\.json$/i.test(key) || key.includes(".."))
    throw new Error(`invalid state key ${key}`);
}
