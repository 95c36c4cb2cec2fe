#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { requireAwsRegion } from "./aws/region.js";
import { runDoctor } from "./commands/doctor.js";
import { startService } from "./commands/serve.js";
import { runBackfillCommand, runSyncCommand } from "./commands/sync.js";
import { ConfigError, loadConfig, requireWebhookSecurity } from "./config.js";
import { createLogger } from "./log.js";
import { onShutdownSignal } from "./ops/shutdown.js";

const USAGE = `wootric-firehose: moves Wootric (InMoment) survey data into Amazon S3 through Kinesis Data Firehose.

Usage: wootric-firehose <command> [options]

Commands:
  serve                     receive webhooks (POST /webhooks/wootric) and, when WOOTRIC_CLIENT_ID/SECRET
                            are set, poll the Wootric API on POLL_CRON
  sync --once [--streams a,b]
                            run one incremental sync and exit
  backfill --since YYYY-MM-DD [--until YYYY-MM-DD] [--streams a,b]
                            re-read a date range from the Wootric API
  doctor                    check configuration, directories, Firehose/S3 and Wootric reachability
  help                      show this text

Streams: end_users, responses, declines, segments, survey_templates, nps_summary.
Configuration comes from environment variables; see README.md. Without FIREHOSE_STREAM_NAME records are
written to gzip files under DATA_DIR (default ./data).
Exit codes: 0 ok, 1 failure, 2 usage or configuration error.`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function serve(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`serve takes no arguments (got ${argv.join(" ")}); configure it with environment variables\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.sink.kind === "firehose") requireWebhookSecurity(config); // our own variables first, then the region
  await requireAwsRegion(process.env);
  const logger = createLogger(config.log);
  process.on("unhandledRejection", (reason) => logger.error("unhandled promise rejection", { error: String(reason) }));
  const service = await startService(config, logger);
  return new Promise<number>((resolve) => {
    onShutdownSignal(logger, async () => {
      try {
        await service.shutdown();
        resolve(0);
      } catch (err) {
        logger.error("shutdown failed", { error: (err as Error).message });
        resolve(1);
      }
    });
  });
}

async function doctor(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`doctor takes no arguments (got ${argv.join(" ")})\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  await requireAwsRegion(process.env);
  return runDoctor(config, (line) => process.stdout.write(`${line}\n`));
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "sync":
      return runSyncCommand(rest);
    case "backfill":
      return runBackfillCommand(rest);
    case "doctor":
      return doctor(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    case "--version":
    case "-v":
      process.stdout.write(`${version()}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`wootric-firehose: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`wootric-firehose: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.LOG_LEVEL === "debug" && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
