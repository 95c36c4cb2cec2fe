import { access, constants, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config.js";
import { redactUrlCredentials } from "../log.js";
import type { CheckResult } from "../ops/check.js";
import { checkFirehose } from "../sink/firehose/doctor-check.js";
import { DEV_SECRET_FILE } from "../webhook/dev-secret.js";
import { checkWootric } from "../wootric/doctor-check.js";

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

export async function checkWritableDir(name: string, dir: string): Promise<CheckResult> {
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

export function checkWebhookSecret(config: Config): CheckResult {
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

/** Every check `doctor` runs, in order. */
export async function runDoctorChecks(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ name: "config", ok: true, detail: describeConfig(config) }];
  results.push(checkWebhookSecret(config));
  if (config.sink.kind === "file") results.push(await checkWritableDir("DATA_DIR", config.sink.dataDir));
  else results.push(await checkWritableDir("SPOOL_DIR", config.sink.spoolDir));
  for (const check of [checkFirehose, checkWootric]) {
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
