import { randomUUID } from "node:crypto";
import type { Config } from "../config/index.js";
import type { CheckResult } from "../ops/check.js";
import { openStateStore } from "./open-store.js";

/** `doctor`: the poller's state store (STATE_URL) takes a conditional write, a read and a delete. */
export async function checkStateStore(config: Config): Promise<CheckResult> {
  const store = openStateStore(config.state);
  const key = `doctor/${randomUUID()}.json`;
  try {
    // The poller's first lease and bookmark reads are of keys that do not exist yet. S3 answers those with 403
    // instead of 404 unless the role may also list the bucket, and a write/read round trip would not show it.
    try {
      if (config.state.kind === "s3") await store.read(key);
    } catch (err) {
      return {
        name: "state store",
        ok: false,
        detail: `${store.location}: reading a key that does not exist yet failed (${(err as Error).message}); on S3 grant s3:ListBucket on the bucket, or S3 answers 403 instead of 404 and the poller cannot take its first lease`,
      };
    }
    const version = await store.write(key, JSON.stringify({ doctor: new Date().toISOString() }), { ifAbsent: true });
    const back = await store.read(key);
    if (!back)
      return { name: "state store", ok: false, detail: `${store.location}: wrote ${key} but could not read it back` };
    await store.remove(key, version);
    return { name: "state store", ok: true, detail: `${store.location}: conditional write, read and delete work` };
  } catch (err) {
    return {
      name: "state store",
      ok: false,
      detail: `${store.location}: ${(err as Error).message} (STATE_URL holds the poller's bookmarks and lease)`,
    };
  }
}
