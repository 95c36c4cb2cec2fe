import { parseArgs } from "node:util";
import type { S3Client } from "@aws-sdk/client-s3";
import { makeFirehoseClient, makeS3Client } from "../aws/clients.js";
import { requireAwsRegion } from "../aws/region.js";
import { type Config, ConfigError, loadConfig } from "../config/index.js";
import { createLogger } from "../log.js";
import { Metrics } from "../ops/metrics.js";
import { ReplayProgress } from "../replay/progress.js";
import { redriveFirehoseErrors, redriveSummaryLines } from "../replay/redrive.js";
import { replayDeadLetters, summaryLines } from "../replay/replay.js";
import { DEAD_LETTERS_KEY, REDRIVEN_KEY, ReplayRecord } from "../replay/replay-record.js";
import { type DayRange, fileObjects, type StoredObject, s3Objects } from "../replay/sources.js";
import { createSink } from "../sink/create-sink.js";
import { FIREHOSE_LIMITS } from "../sink/firehose/config.js";
import type { Sink } from "../sink/sink.js";
import { openStateStore } from "../state/open-store.js";
import { explainStartupError } from "./startup-errors.js";
import { parserMessage, UsageError } from "./usage.js";

export const REPLAY_USAGE = `replay [--since T] [--until T] [--dry-run] [--redrive]
                            re-run dead letters through today's parser; --redrive: Firehose's failed records`;

export const REPLAY_HELP = `Usage: wootric-firehose replay [--since T] [--until T] [--dry-run] [--redrive]

Re-runs dead letters through today's parser and writes the records that now parse to the sink, with their
original received_at (so the same dedup_key and version) and a replayed_at.
  Reads: DATA_DIR/entity=dead_letter/ (file sink), DATA_URL/entity=dead_letter/ (dead letters Firehose delivered)
         and DEAD_LETTER_URL (records too large for Firehose).
  --since T, --until T   only dead letters received in [since, until); T is YYYY-MM-DD (UTC) or an ISO-8601 time
  --dry-run              print what would be recovered and why the rest still fails; write nothing
  --redrive              instead, put the records Firehose could not deliver (the JSON lines under
                         FIREHOSE_ERROR_URL, base64 rawData) back into FIREHOSE_STREAM_NAME, bytes unchanged
A replay record in STATE_URL (replay/dead-letters.json, replay/redriven.json) makes a second run do nothing new.
With the file sink, stop serve first (it holds DATA_DIR); with Firehose, give replay its own SPOOL_DIR while serve runs.
See docs/replay.md.`;

function parseInstant(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms))
    throw new UsageError(`${flag} must be YYYY-MM-DD or an ISO-8601 time such as 2026-01-31T12:00:00Z (got ${value})`);
  return new Date(ms);
}

const dayOf = (d: Date | undefined) => d?.toISOString().slice(0, 10);

async function* concat(sources: AsyncIterable<StoredObject>[]): AsyncGenerator<StoredObject> {
  for (const s of sources) yield* s;
}

function parseReplayArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      since: { type: "string" },
      until: { type: "string" },
      "dry-run": { type: "boolean" },
      redrive: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
}

/** `replay [--since T] [--until T] [--dry-run] [--redrive]`. Returns the exit code. */
export async function runReplayCommand(argv: string[]): Promise<number> {
  let config: Config;
  let since: Date | undefined;
  let until: Date | undefined;
  let dryRun: boolean;
  let redrive: boolean;
  try {
    let parsed: ReturnType<typeof parseReplayArgs>;
    try {
      parsed = parseReplayArgs(argv);
    } catch (err) {
      throw new UsageError(parserMessage(err));
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${REPLAY_HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals.join(" ")}`);
    since = parseInstant("--since", values.since);
    until = parseInstant("--until", values.until);
    if (since && until && until <= since) throw new UsageError("--until must be after --since (it is exclusive)");
    dryRun = values["dry-run"] === true;
    redrive = values.redrive === true;
    config = loadConfig(process.env);
    await requireAwsRegion(process.env);
    if (redrive && !config.replay.firehoseErrorUrl)
      throw new UsageError(
        "--redrive needs FIREHOSE_ERROR_URL=s3://<bucket>/<error prefix>/firehose (where Firehose writes the records it could not deliver)",
      );
    if (redrive && config.sink.kind !== "firehose")
      throw new UsageError("--redrive needs FIREHOSE_STREAM_NAME: the stream to put the failed records back into");
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : `replay: ${(err as Error).message}`;
    process.stderr.write(`${msg}\n`);
    return 2;
  }

  const logger = createLogger(config.log);
  const window = { ...(since ? { since } : {}), ...(until ? { until } : {}) };
  const range: DayRange = {
    ...(since ? { sinceDay: dayOf(since) } : {}),
    ...(until ? { untilDay: dayOf(until) } : {}),
  };
  const report = (line: string) => process.stdout.write(`${line}\n`);
  const progress = new ReplayProgress(process.stderr);
  const replayedAt = new Date();
  const store = openStateStore(config.state);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const clients: { destroy(): void }[] = [];
  const s3 = (): S3Client => {
    const c = makeS3Client();
    clients.push(c);
    return c;
  };
  try {
    if (redrive) {
      const where = config.replay.firehoseErrorUrl!;
      const record = await ReplayRecord.load(store, REDRIVEN_KEY);
      const firehose = dryRun ? undefined : makeFirehoseClient();
      if (firehose) clients.push(firehose);
      const s = await redriveFirehoseErrors(
        {
          objects: s3Objects(s3(), where, "", range),
          firehose,
          streamName: config.sink.kind === "firehose" ? config.sink.streamName : "",
          record,
          report,
          progress,
          replayedAt,
          signal: abort.signal,
        },
        window,
      );
      for (const l of redriveSummaryLines(s, dryRun)) report(l);
      return s.unsent > 0 ? 1 : 0;
    }

    const sources: AsyncIterable<StoredObject>[] = [];
    if (config.sink.kind === "file") sources.push(fileObjects(config.sink.dataDir, "dead_letter", range));
    const client =
      config.replay.dataUrl || (config.sink.kind === "firehose" && config.sink.deadLetter) ? s3() : undefined;
    if (client && config.replay.dataUrl)
      sources.push(s3Objects(client, config.replay.dataUrl, "entity=dead_letter", range));
    else if (config.sink.kind === "firehose")
      report("note: DATA_URL is not set, so the dead letters Firehose delivered to S3 are not read");
    if (client && config.sink.kind === "firehose" && config.sink.deadLetter)
      sources.push(s3Objects(client, config.sink.deadLetter, "", range));

    const record = await ReplayRecord.load(store, DEAD_LETTERS_KEY);
    let sink: Sink | undefined;
    if (!dryRun) sink = await createSink({ config, logger, metrics: new Metrics({ defaults: false }) });
    try {
      const s = await replayDeadLetters(
        {
          objects: concat(sources),
          sink,
          record,
          report,
          progress,
          replayedAt,
          signal: abort.signal,
          ...(config.sink.kind === "firehose" ? { maxLineBytes: FIREHOSE_LIMITS.maxRecordBytes } : {}),
        },
        window,
      );
      for (const l of summaryLines(s, dryRun)) report(l);
      if (abort.signal.aborted) {
        report("replay: stopped by a signal; what was recovered is recorded, run again to continue");
        return 1;
      }
    } finally {
      await sink?.close(config.shutdownTimeoutMs);
    }
    return 0;
  } catch (err) {
    progress.clear();
    const explained = explainStartupError(err, config);
    if (explained) {
      process.stderr.write(`replay: ${explained.message}\n`);
      return 2;
    }
    logger.error("replay failed", { error: (err as Error).message });
    process.stderr.write(`replay: ${(err as Error).message}\n`);
    return 1;
  } finally {
    for (const c of clients) c.destroy();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
