import { join, relative } from "node:path";
import { mkdirDurable } from "../../common/durable-fs.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../ops/metrics.js";
import { lockDirectory } from "../dir-lock.js";
import type { Sink } from "../sink.js";
import { isNoSpace, startWhenSpace } from "./deferred-start.js";
import { FileSink, type FileSinkSettings } from "./file-sink.js";
import { recoverOpenFiles } from "./recovery.js";

/**
 * Opens the file sink: takes the DATA_DIR lock and finalises files a crash left open. On a full disk it does not fail:
 * the sink answers 503 with the reason and retries start-up until space returns.
 */
export async function openFileSink(deps: {
  settings: FileSinkSettings;
  logger: Logger;
  metrics: Metrics;
  /** How often a start-up deferred for want of disk space is retried. Default 5 s. */
  recoveryRetryMs?: number;
}): Promise<Sink> {
  const { settings, logger, metrics } = deps;
  const retryMs = deps.recoveryRetryMs ?? 5_000;
  await mkdirDurable(settings.dataDir);
  const sink = new FileSink(settings, logger, metrics);
  let locked = false;
  let failedAt = join(settings.dataDir, ".file-sink.lock");
  // Taking the lock and finalising files left open by a crash both need a little disk space.
  const attempt = async (): Promise<void> => {
    if (!locked) {
      sink.holdLock(await lockDirectory({ dir: settings.dataDir, lockFile: ".file-sink.lock", variable: "DATA_DIR" }));
      locked = true;
    }
    const recovered = await recoverOpenFiles(settings.dataDir, (path) => {
      failedAt = path;
    });
    for (const r of recovered)
      logger.warn("finalised a file left open by an earlier run", { path: r.path, lines: r.lines });
    sink.started();
  };
  try {
    await startWhenSpace(attempt, {
      retryMs,
      stopped: () => sink.isClosed,
      waiting: (err) => {
        const where = `DATA_DIR/${relative(settings.dataDir, failedAt)}`;
        const step = locked
          ? `the file left open by an earlier run, ${where}, cannot be finalised`
          : `${where} cannot be written`;
        sink.deferStart(
          isNoSpace(err)
            ? `file sink waiting for disk space: the disk is full, so ${step}; webhooks are answered 503 until space is freed (retrying every ${retryMs / 1000} s)`
            : `file sink cannot start: ${(err as Error).message}`,
        );
        logger.error("file sink cannot start yet; answering 503 and retrying", {
          path: failedAt,
          error: (err as Error).message,
        });
      },
      started: () => logger.info("file sink started: leftover files are finalised"),
    });
  } catch (err) {
    await sink.close(1000);
    throw err;
  }
  metrics.gauge("file_sink_open_files", "Files currently open for writing", [], function () {
    this.set(sink.openFileCount);
  });
  logger.info("file sink ready", {
    dataDir: settings.dataDir,
    rotateBytes: settings.rotateBytes,
    rotateSeconds: settings.rotateSeconds,
  });
  return sink;
}
