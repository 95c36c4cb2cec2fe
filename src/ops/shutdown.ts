import type { Logger } from "../log.js";

/**
 * Runs `handler` once on the first SIGTERM or SIGINT. A second signal while it runs exits at once (status 1), for an
 * operator who really wants the process gone.
 */
export function onShutdownSignal(logger: Logger, handler: (signal: NodeJS.Signals) => Promise<void>): void {
  let started = false;
  const listener = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn("second signal received: exiting without finishing the shutdown", { signal });
      process.exit(1);
    }
    started = true;
    logger.info("shutting down: no new requests, finishing in-flight ones, closing the sink", { signal });
    void handler(signal);
  };
  process.on("SIGTERM", listener);
  process.on("SIGINT", listener);
}
