import type { Config } from "../config/index.js";
import { silentLogger } from "../log.js";
import type { CheckResult } from "../ops/check.js";
import { WootricClient } from "./client.js";

/** `doctor`: the Wootric credentials (token grant) and one cheap read. */
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
  return results;
}
