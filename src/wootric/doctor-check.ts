// PLACEHOLDER: replaced by the Wootric API client implementation (issue 4).
import type { Config } from "../config.js";
import type { CheckResult } from "../ops/check.js";

/** Checks the Wootric credentials (token grant + one cheap read) and the state store (read/write). */
export async function checkWootric(config: Config): Promise<CheckResult[]> {
  if (!config.wootric) return [{ name: "wootric", ok: true, skipped: true, detail: "WOOTRIC_CLIENT_ID/SECRET not set: poller disabled, webhooks only" }];
  return [{ name: "wootric", ok: false, detail: "check not implemented yet" }];
}
