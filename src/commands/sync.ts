import { parseArgs } from "node:util";
import { requireAwsRegion } from "../aws/region.js";
import { systemClock } from "../common/clock.js";
import { isCalendarDate } from "../common/validate.js";
import { type Config, ConfigError, loadConfig } from "../config/index.js";
import { createLogger, type Logger } from "../log.js";
import { Metrics } from "../ops/metrics.js";
import type { RunMode } from "../poller/engine.js";
import { ConsoleProgress } from "../poller/progress.js";
import { type RunOutcome, runPoller } from "../poller/run.js";
import { type StreamDecl, selectStreams } from "../poller/streams.js";
import { createSink } from "../sink/create-sink.js";
import { openStateStore } from "../state/open-store.js";
import { explainStartupError } from "./startup-errors.js";
import { parserMessage, UsageError } from "./usage.js";

const STREAMS_HELP = `  --streams a,b          only these streams (default: all): end_users, responses, declines, segments,
                         survey_templates, nps_summary
  -h, --help             show this text`;

const ENV_HELP = `Needs WOOTRIC_CLIENT_ID and WOOTRIC_CLIENT_SECRET; writes where serve does (FIREHOSE_STREAM_NAME, or files under
DATA_DIR); bookmarks and the lease live at STATE_URL. Exit codes: 0 done, 1 a stream failed or was stopped (the next
run resumes), 2 usage or configuration error.`;

export const SYNC_HELP = `Usage: wootric-firehose sync --once [--full] [--streams a,b]

Runs one incremental sync of the Wootric API from the saved bookmarks, then exits. With --full, runs the full
reconciliation instead: every stream's whole history, writing old edits, backdated records and a tombstone for each
deleted record (serve runs it on RECONCILE_CRON).

Options:
  --once                 required: run once and exit (serve runs the poller on POLL_CRON)
  --full                 the full reconciliation instead of the incremental sync
${STREAMS_HELP}

${ENV_HELP}`;

export const BACKFILL_HELP = `Usage: wootric-firehose backfill --since YYYY-MM-DD [--until YYYY-MM-DD] [--streams a,b]

Re-reads a date range from the Wootric API (records updated in it) without moving the bookmarks, then exits.

Options:
  --since YYYY-MM-DD     first day to read (UTC), required
  --until YYYY-MM-DD     day to stop before (exclusive; default: now)
${STREAMS_HELP}

${ENV_HELP}`;

function checkDate(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isCalendarDate(value)) {
    throw new UsageError(`${flag} must be a calendar date written YYYY-MM-DD (got ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * `sync --once [--full] [--streams a,b]`: one incremental run of the chosen streams, or with --full the full
 * reconciliation (whole history, edits, backdated records, tombstones). Returns the exit code.
 */
export async function runSyncCommand(argv: string[]): Promise<number> {
  return runCommand("sync", argv, (values) => {
    if (values.since !== undefined || values.until !== undefined)
      throw new UsageError("sync takes no --since/--until; use backfill for a date range");
    if (!values.once)
      throw new UsageError(
        "add --once to run one sync and exit (serve runs the poller on schedule: POLL_CRON, and --full on RECONCILE_CRON)",
      );
    return values.full ? { kind: "reconcile" } : { kind: "sync" };
  });
}

/** `backfill --since YYYY-MM-DD [--until YYYY-MM-DD] [--streams a,b]`: re-read a range; --until is exclusive. */
export async function runBackfillCommand(argv: string[]): Promise<number> {
  return runCommand("backfill", argv, (values) => {
    const since = checkDate("--since", values.since);
    if (!since) throw new UsageError("backfill needs --since YYYY-MM-DD");
    const until = checkDate("--until", values.until);
    if (until !== undefined && until <= since) throw new UsageError("--until must be after --since (it is exclusive)");
    if (values.once) throw new UsageError("--once belongs to sync; backfill always runs once");
    if (values.full)
      throw new UsageError("--full belongs to sync (the full reconciliation); backfill re-reads a range");
    return until ? { kind: "backfill", since, until } : { kind: "backfill", since };
  });
}

type Values = { once?: boolean; full?: boolean; streams?: string; since?: string; until?: string; help?: boolean };

function parseCommandArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      once: { type: "boolean" },
      full: { type: "boolean" },
      streams: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
}

async function runCommand(name: string, argv: string[], toMode: (v: Values) => RunMode): Promise<number> {
  let config: Config;
  let mode: RunMode;
  let streams: StreamDecl[];
  try {
    let parsed: ReturnType<typeof parseCommandArgs>;
    try {
      parsed = parseCommandArgs(argv);
    } catch (err) {
      throw new UsageError(parserMessage(err));
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${name === "sync" ? SYNC_HELP : BACKFILL_HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals.join(" ")}`);
    mode = toMode(values);
    streams = selectStreams(values.streams);
    config = loadConfig(process.env);
    await requireAwsRegion(process.env);
    if (!config.wootric) {
      throw new UsageError(
        "WOOTRIC_CLIENT_ID and WOOTRIC_CLIENT_SECRET must be set to poll the Wootric API (Wootric → Settings → API)",
      );
    }
  } catch (err) {
    const msg =
      err instanceof UsageError
        ? `${name}: ${err.message}; run "wootric-firehose ${name} --help" for the options`
        : err instanceof ConfigError
          ? err.message
          : `${name}: ${(err as Error).message}`;
    process.stderr.write(`${msg}\n`);
    return 2;
  }

  const logger = createLogger(config.log);
  const metrics = new Metrics({ defaults: false });
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    logger.warn(`${sig} received: stopping at the next durable point`);
    abort.abort(new Error(sig));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let outcome: RunOutcome | undefined;
  let sinkClosed = true;
  try {
    const sink = await createSink({ config, logger, metrics });
    sinkClosed = false;
    try {
      const store = openStateStore(config.state);
      const progress = new ConsoleProgress(process.stderr, logger, systemClock);
      outcome = await runPoller(
        { config, logger, metrics, sink, store, progress, signal: abort.signal },
        streams,
        mode,
      );
    } finally {
      await sink.close(config.shutdownTimeoutMs);
      sinkClosed = true;
    }
  } catch (err) {
    const explained = explainStartupError(err, config);
    if (explained) {
      process.stderr.write(`${name}: ${explained.message}\n`);
      return 2;
    }
    logger.error(`${name} failed`, { error: (err as Error).message, closed_sink: sinkClosed });
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return report(name, outcome, logger);
}

function report(name: string, outcome: RunOutcome, logger: Logger): number {
  if (outcome.status === "lease_held") {
    process.stderr.write(`${name}: ${outcome.holder}; try again when it finishes\n`);
    return 1;
  }
  for (const s of outcome.streams) {
    process.stdout.write(
      `${s.stream}: ${s.records} records${s.tombstones ? `, ${s.tombstones} tombstones` : ""}${s.deadLetters ? `, ${s.deadLetters} dead letters` : ""}${s.bookmark ? `, bookmark ${s.bookmark}` : ""}\n`,
    );
  }
  if (outcome.status === "failed") {
    for (const e of outcome.errors) process.stdout.write(`${e.stream}: FAILED ${e.error}\n`);
    logger.error(`${name} finished with errors`, { failed: outcome.errors.map((e) => e.stream) });
    return 1;
  }
  if (outcome.status === "stopped") {
    process.stdout.write(`${name}: stopped before finishing; the next run resumes from the saved bookmarks\n`);
    return 1;
  }
  return 0;
}
