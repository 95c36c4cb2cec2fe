import { runDailyStream } from "./daily-stream.js";
import { runSnapshotStream } from "./snapshot-stream.js";
import type { EngineDeps, RunMode, StreamResult } from "./stream-run.js";
import type { StreamDecl } from "./streams.js";
import { reconcileWindowStream } from "./window-reconcile.js";
import { runWindowStream } from "./window-stream.js";

export type { EngineDeps, RunMode, StreamResult } from "./stream-run.js";
export { HISTORY_START } from "./window-stream.js";

/** Runs one stream in the given mode: one module per stream kind, the shared scaffolding in stream-run.ts. */
export async function runStream(deps: EngineDeps, decl: StreamDecl, mode: RunMode): Promise<StreamResult> {
  switch (decl.kind) {
    case "window":
      return mode.kind === "reconcile" ? reconcileWindowStream(deps, decl) : runWindowStream(deps, decl, mode);
    case "daily":
      return runDailyStream(deps, decl, mode);
    case "snapshot":
      return runSnapshotStream(deps, decl, mode);
  }
}
