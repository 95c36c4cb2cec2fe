import { access, constants, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nextCronRun } from "../common/validate.js";
import type { Config } from "../config/index.js";
import { redactUrlCredentials } from "../log.js";
import type { CheckResult } from "../ops/check.js";
import { checkFirehose } from "../sink/firehose/doctor-check.js";
import { checkStateStore } from "../state/doctor-check.js";
import { DEV_SECRET_FILE } from "../webhook/dev-secret.js";
import { checkWootric } from "../wootric/doctor-check.js";

export const DOCTOR_HELP = `Usage: wootric-firehose doctor

Checks what serve and sync need, one line per check: the configuration, the webhook secret, that DATA_DIR (or
SPOOL_DIR) is writable, the Firehose stream (and the dead-letter bucket), the Wootric credentials, the state store
(STATE_URL), POLL_CRON and RECONCILE_CRON with their next runs. Checks for parts that are not configured are skipped.
Secrets are never printed.

Options:
  -h, --help   show this text

Exit codes: 0 every check that ran passed, 1 a check failed, 2 configuration error.`;

/** A one-line summary of the configuration, with no secret in it. */
export function describeConfig(config: Config): string {
  const parts = [
    `listen ${config.http.host}:${config.http.port}`,
    config.sink.kind === "file"
      ? `file sink in ${config.sink.dataDir}`
      : `firehose stream ${config.sink.streamName}, spool ${config.sink.spoolDir}`,
    config.wootric
      ? `poller on (${redactUrlCredentials(config.wootric.baseUrl)}, cron "${config.poll.cron}")`
      : "poller off",
    config.state.kind === "s3"
      ? `state s3://${config.state.bucket}/${config.state.prefix}`
      : `state ${config.state.path}`,
  ];
  return parts.join("; ");
}

async function checkWritableDir(name: string, dir: string): Promise<CheckResult> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    const probe = join(dir, `.doctor-${process.pid}`);
    await writeFile(probe, "ok");
    await rm(probe);
    return { name, ok: true, detail: `${dir} is writable` };
  } catch (err) {
    return { name, ok: false, detail: `${dir} is not writable: ${(err as Error).message}` };
  }
}

function checkWebhookSecret(config: Config): CheckResult {
  const n = config.webhook.secrets.length;
  if (n > 0)
    return {
      name: "webhook secret",
      ok: true,
      detail: `${n} secret${n > 1 ? "s" : ""} configured (WOOTRIC_WEBHOOK_SECRET)`,
    };
  if (config.webhook.allowUnsigned)
    return {
      name: "webhook secret",
      ok: true,
      detail: "none: ALLOW_UNSIGNED_WEBHOOKS=true accepts unsigned webhooks (development only!)",
    };
  if (config.sink.kind === "file") {
    return {
      name: "webhook secret",
      ok: true,
      detail: `none: serve uses a generated development secret in ${join(config.sink.dataDir, DEV_SECRET_FILE)}`,
    };
  }
  return {
    name: "webhook secret",
    ok: false,
    detail: "WOOTRIC_WEBHOOK_SECRET is not set: serve refuses to start with the Firehose sink without it",
  };
}

/** POLL_CRON and RECONCILE_CRON are validated when the configuration loads; these lines show when they fire next. */
function checkSchedule(name: string, variable: string, cron: string, example: string): CheckResult {
  const next = nextCronRun(cron);
  if (!next)
    return { name, ok: false, detail: `${variable} "${cron}" is not a valid cron expression (e.g. "${example}")` };
  return { name, ok: true, detail: `${variable} "${cron}" (UTC), next run ${next.toISOString()}` };
}

/** The incremental sync's schedule and the full reconciliation's, which RECONCILE_CRON=off turns off. */
export function checkPollSchedules(poll: Config["poll"]): CheckResult[] {
  return [
    checkSchedule("poll schedule", "POLL_CRON", poll.cron, "*/15 * * * *"),
    poll.reconcileCron === undefined
      ? { name: "reconcile schedule", ok: true, detail: 'RECONCILE_CRON "off": serve runs no full reconciliation' }
      : checkSchedule("reconcile schedule", "RECONCILE_CRON", poll.reconcileCron, "17 3 * * *"),
  ];
}

/** The poller's checks: Wootric credentials, then (only when they are set) its state store and schedule. */
async function checkPoller(config: Config): Promise<CheckResult[]> {
  const wootric = await checkWootric(config);
  if (!config.wootric) return wootric;
  return [...wootric, await checkStateStore(config), ...checkPollSchedules(config.poll)];
}

/** Every check `doctor` runs, in order. */
export async function runDoctorChecks(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ name: "config", ok: true, detail: describeConfig(config) }];
  results.push(checkWebhookSecret(config));
  if (config.sink.kind === "file") results.push(await checkWritableDir("DATA_DIR", config.sink.dataDir));
  else results.push(await checkWritableDir("SPOOL_DIR", config.sink.spoolDir));
  for (const check of [checkFirehose, checkPoller]) {
    try {
      results.push(...(await check(config)));
    } catch (err) {
      results.push({ name: check.name, ok: false, detail: `check crashed: ${(err as Error).message}` });
    }
  }
  return results;
}

export function formatCheck(r: CheckResult): string {
  const mark = r.skipped ? "skip" : r.ok ? " ok " : "FAIL";
  return `[${mark}] ${r.name}: ${redactUrlCredentials(r.detail)}`;
}

/** Prints one line per check; exit code 1 when any check that ran failed. */
export async function runDoctor(config: Config, out: (line: string) => void): Promise<number> {
  const results = await runDoctorChecks(config);
  for (const r of results) out(formatCheck(r));
  const failed = results.filter((r) => !r.ok && !r.skipped);
  out(
    failed.length === 0
      ? "doctor: all checks passed"
      : `doctor: ${failed.length} check${failed.length > 1 ? "s" : ""} failed`,
  );
  return failed.length === 0 ? 0 : 1;
}
