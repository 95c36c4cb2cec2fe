import type { Readiness } from "../sink/sink.js";

/** Ready only when every part is: the first one that is not gives the reason. Warnings of every part are kept. */
export function combineReadiness(parts: readonly (() => Readiness)[]): () => Readiness {
  return () => {
    const warnings: string[] = [];
    let notReady: Readiness | undefined;
    for (const part of parts) {
      const r = part();
      warnings.push(...(r.warnings ?? []));
      if (!r.ready) {
        notReady = r;
        break;
      }
    }
    const result: Readiness = notReady ? { ready: false, reason: notReady.reason ?? "unknown" } : { ready: true };
    if (warnings.length > 0) result.warnings = warnings;
    return result;
  };
}
