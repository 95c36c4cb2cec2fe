import { parseArgs } from "node:util";
import { requireAwsRegion } from "../aws/region.js";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { createLogger, type Logger } from "../log.js";
import { Metrics } from "../ops/metrics.js";
import type { RunMode } from "../poller/engine.js";
import { ConsoleProgress } from "../poller/progress.js";
import { type RunOutcome, runPoller } from "../poller/run.js";
import { type StreamDecl, selectStreams } from "../poller/streams.js";
import { createSink } from "../sink/create-sink.js";
import { openStateStore } from "../state/open-store.js";
import { systemClock } from "../wootric/clock.js";

class UsageError extends Error {}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
function checkDate(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (
    !DATE.test(value) ||
    Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ||
    new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value
  ) {
    throw new UsageError(`${flag} must be a calendar date written YYYY-MM-DD (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** `sync --once [--streams a,b]`: one incremental run of the chosen streams. Returns the exit code. */
export async function runSyncCommand(argv: string[]): Promise<number> {
  return runCommand("sync", argv, (values) => {
    if (values.since !== undefined || values.until !== undefined)
      throw new UsageError("sync takes no --since/--until; use backfill for a date range");
    return { kind: "sync" };
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
    return until ? { kind: "backfill", since, until } : { kind: "backfill", since };
  });
}

type Values = { once?: boolean; streams?: string; since?: string; until?: string };

async function runCommand(name: string, argv: string[], toMode: (v: Values) => RunMode): Promise<number> {
  let config: Config;
  let mode: RunMode;
  let streams: StreamDecl[];
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        once: { type: "boolean" },
        streams: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
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
    const msg = err instanceof ConfigError ? err.message : `${name}: ${(err as Error).message}`;
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
      `${s.stream}: ${s.records} records${s.deadLetters ? `, ${s.deadLetters} dead letters` : ""}${s.bookmark ? `, bookmark ${s.bookmark}` : ""}\n`,
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
