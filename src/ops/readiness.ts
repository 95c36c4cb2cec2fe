import type { Readiness } from "../sink/sink.js";

/** Ready only when every part is: the first one that is not gives the reason. Every part's detail is kept. */
export function combineReadiness(parts: readonly (() => Readiness)[]): () => Readiness {
  return () => {
    let detail: Record<string, number | string> | undefined;
    let failed: Readiness | undefined;
    for (const part of parts) {
      const r = part();
      if (r.detail) detail = { ...detail, ...r.detail };
      if (!r.ready && !failed) failed = r;
    }
    const result: Readiness = failed ? { ready: false, reason: failed.reason ?? "unknown" } : { ready: true };
    return detail ? { ...result, detail } : result;
  };
}
