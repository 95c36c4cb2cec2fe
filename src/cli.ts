#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { requireAwsRegion } from "./aws/region.js";
import { DOCTOR_HELP, runDoctor } from "./commands/doctor.js";
import { REPLAY_HELP, REPLAY_USAGE, runReplayCommand } from "./commands/replay.js";
import { SERVE_HELP, startService } from "./commands/serve.js";
import { explainStartupError, StartupError } from "./commands/startup-errors.js";
import { BACKFILL_HELP, runBackfillCommand, runSyncCommand, SYNC_HELP } from "./commands/sync.js";
import { ConfigError, loadConfig, requireWebhookSecurity } from "./config/index.js";
import { createLogger, type Logger } from "./log.js";
import { onShutdownSignal } from "./ops/shutdown.js";
import { surviveClosedStdio } from "./ops/stdio.js";

const USAGE = `wootric-firehose: moves Wootric (InMoment) survey data into Amazon S3 through Kinesis Data Firehose.

Usage: wootric-firehose <command> [options]

Commands:
  serve                     receive webhooks (POST /webhooks/wootric) and, when WOOTRIC_CLIENT_ID/SECRET
                            are set, poll the Wootric API on POLL_CRON (full reconciliation on RECONCILE_CRON)
  sync --once [--full] [--streams a,b]
                            run one incremental sync and exit; --full: the full reconciliation
                            (whole history: old edits, backdated records, tombstones for deletions)
  backfill --since YYYY-MM-DD [--until YYYY-MM-DD] [--streams a,b]
                            re-read a date range from the Wootric API
  ${REPLAY_USAGE}
  doctor                    check configuration, directories, Firehose/S3 and Wootric reachability
  help [command]            show this text, or a command's options (also: <command> --help)

Streams: end_users, responses, declines, segments, survey_templates, nps_summary.
Configuration comes from environment variables; see docs/configuration.md. Without FIREHOSE_STREAM_NAME records are
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

const COMMAND_HELP: Record<string, string> = {
  serve: SERVE_HELP,
  sync: SYNC_HELP,
  backfill: BACKFILL_HELP,
  doctor: DOCTOR_HELP,
  replay: REPLAY_HELP,
};

const wantsHelp = (argv: string[]) => argv.includes("--help") || argv.includes("-h");

/** Once nobody reads a stream any more, the logger stops writing to it (logs go to stderr). */
function stopLoggingToBrokenStreams(logger: Logger): void {
  surviveClosedStdio((stream) => {
    if (stream === "stderr") for (const t of logger.transports) t.silent = true;
  });
}

async function serve(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(
      `serve takes no arguments (got ${argv.join(" ")}); it is configured with environment variables: ` +
        'see "wootric-firehose serve --help"\n',
    );
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.sink.kind === "firehose") requireWebhookSecurity(config); // our own variables first, then the region
  await requireAwsRegion(process.env);
  const logger = createLogger(config.log);
  stopLoggingToBrokenStreams(logger);
  process.on("unhandledRejection", (reason) => logger.error("unhandled promise rejection", { error: String(reason) }));
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config, logger);
  } catch (err) {
    throw explainStartupError(err, config) ?? err;
  }
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
    process.stderr.write(`doctor takes no arguments (got ${argv.join(" ")}); see "wootric-firehose doctor --help"\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  await requireAwsRegion(process.env);
  return runDoctor(config, (line) => process.stdout.write(`${line}\n`));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const commandHelp = command !== undefined ? COMMAND_HELP[command] : undefined;
  if (commandHelp !== undefined && wantsHelp(rest)) {
    process.stdout.write(`${commandHelp}\n`);
    return 0;
  }
  switch (command) {
    case "serve":
      return serve(rest);
    case "sync":
      return runSyncCommand(rest);
    case "backfill":
      return runBackfillCommand(rest);
    case "replay":
      return runReplayCommand(rest);
    case "doctor":
      return doctor(rest);
    case "help": {
      const topic = rest[0] !== undefined ? COMMAND_HELP[rest[0]] : undefined;
      process.stdout.write(`${topic ?? USAGE}\n`);
      return rest[0] === undefined || topic !== undefined ? 0 : 2;
    }
    case undefined:
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

// Before anything writes: a closed pipe must not crash a command half-way (the logger also stops using it).
surviveClosedStdio(() => undefined);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`wootric-firehose: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`wootric-firehose: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.LOG_LEVEL === "debug" && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
