import { randomUUID } from "node:crypto";
import schedule from "node-schedule";
import type { Config } from "../config.js";
import { silentLogger } from "../log.js";
import type { CheckResult } from "../ops/check.js";
import { openStateStore } from "../state/open-store.js";
import { WootricClient } from "./client.js";

/** Checks the Wootric credentials (token grant + one cheap read) and the state store (read/write). */
export async function checkWootric(config: Config): Promise<CheckResult[]> {
  if (!config.wootric)
    return [
      {
        name: "wootric",
        ok: true,
        skipped: true,
        detail: "WOOTRIC_CLIENT_ID/SECRET not set: poller disabled, webhooks only",
      },
    ];
  const w = config.wootric;
  const client = new WootricClient({
    baseUrl: w.baseUrl,
    clientId: w.clientId,
    clientSecret: w.clientSecret,
    logger: silentLogger(),
    maxAttempts: 2,
    max429s: 0,
    requestTimeoutMs: 15_000,
  });
  const results: CheckResult[] = [];
  try {
    await client.getToken();
    results.push({
      name: "wootric token",
      ok: true,
      detail: `client_credentials grant accepted by ${w.baseUrl}/oauth/token`,
    });
    try {
      const body = await client.getJson("/v1/end_users", {
        per_page: 1,
        page: 1,
        sort_order: "asc",
        sort_key: "updated_at",
      });
      results.push({
        name: "wootric api",
        ok: Array.isArray(body),
        detail: Array.isArray(body)
          ? "GET /v1/end_users answered a list"
          : "GET /v1/end_users did not answer a JSON list",
      });
    } catch (err) {
      results.push({ name: "wootric api", ok: false, detail: `GET /v1/end_users failed: ${(err as Error).message}` });
    }
  } catch (err) {
    results.push({ name: "wootric token", ok: false, detail: (err as Error).message });
  }
  results.push(await checkStateStore(config));
  results.push(checkCron(config.poll.cron));
  return results;
}

function checkCron(cron: string): CheckResult {
  const job = schedule.scheduleJob({ rule: cron, tz: "Etc/UTC" }, () => {});
  if (!job)
    return {
      name: "poll schedule",
      ok: false,
      detail: `POLL_CRON "${cron}" is not a valid cron expression (e.g. "*/15 * * * *")`,
    };
  const next = job.nextInvocation()?.toISOString();
  job.cancel();
  return { name: "poll schedule", ok: true, detail: `POLL_CRON "${cron}" (UTC), next run ${next ?? "?"}` };
}

async function checkStateStore(config: Config): Promise<CheckResult> {
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
