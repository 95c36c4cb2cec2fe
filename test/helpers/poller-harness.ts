import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Clock } from "../../src/common/clock.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import type { RunMode } from "../../src/poller/engine.js";
import { PollerMetrics } from "../../src/poller/poller-metrics.js";
import { makeClient, type RunOutcome, runPoller } from "../../src/poller/run.js";
import { selectStreams } from "../../src/poller/streams.js";
import { DirStateStore } from "../../src/state/dir-store.js";
import type { StateStore } from "../../src/state/store.js";
import type { WootricClient } from "../../src/wootric/client.js";
import type { FakeWootric } from "./fake-wootric.js";
import { MemorySink } from "./memory-sink.js";

/** 2026-11-27 12:00:00 UTC: the fixed "now" of engine tests (clocks start here and run at wall speed or faster). */
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
export const T0S = T0 / 1000;
export const DAY = 86_400;

export interface Harness {
  config: Config;
  store: StateStore;
  sink: MemorySink;
  metrics: Metrics;
  pollerMetrics: PollerMetrics;
  client: WootricClient;
  stateDir: string;
  run(
    streams?: string,
    mode?: RunMode,
    overrides?: { sink?: MemorySink; signal?: AbortSignal; checkpointEveryMs?: number },
  ): Promise<RunOutcome>;
  cleanup(): void;
}

export function makeHarness(
  fake: FakeWootric,
  clock: Clock,
  env: Record<string, string> = {},
  store?: StateStore,
): Harness {
  const stateDir = mkdtempSync(path.join(tmpdir(), "wf-poll-"));
  const config = loadConfig({
    ...fake.env(),
    STATE_URL: stateDir,
    DATA_DIR: stateDir,
    SYNC_SETTLE_SECONDS: "5",
    LOOKBACK_DAYS: "7",
    LEASE_TTL_SECONDS: "60",
    ...env,
  });
  const metrics = new Metrics({ defaults: false });
  const logger = silentLogger();
  const pollerMetrics = new PollerMetrics(metrics, clock);
  const client = makeClient({ config, logger, metrics, clock });
  const theStore = store ?? new DirStateStore(stateDir);
  const sink = new MemorySink();
  return {
    config,
    store: theStore,
    sink,
    metrics,
    pollerMetrics,
    client,
    stateDir,
    run: (streams, mode = { kind: "sync" }, overrides = {}) =>
      runPoller(
        {
          config,
          logger,
          metrics,
          sink: overrides.sink ?? sink,
          store: theStore,
          clock,
          client,
          pollerMetrics,
          checkpointEveryMs: overrides.checkpointEveryMs ?? 5_000,
          ...(overrides.signal ? { signal: overrides.signal } : {}),
        },
        selectStreams(streams),
        mode,
      ),
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

/** Sum of a counter (optionally filtered by labels) from the registry. */
export async function counterValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = metrics.registry.getSingleMetric(`wootric_firehose_${name}`);
  if (!m) return 0;
  const data = await m.get();
  return data.values
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    )
    .reduce((s, v) => s + v.value, 0);
}
