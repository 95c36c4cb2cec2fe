/** Whether a part of the service can take traffic now, and if not, why (shown by /readyz). */
export interface Readiness {
  ready: boolean;
  reason?: string;
}

/** Ready only when every part is: the first one that is not gives the reason. */
export function combineReadiness(parts: readonly (() => Readiness)[]): () => Readiness {
  return () => {
    for (const part of parts) {
      const r = part();
      if (!r.ready) return r;
    }
    return { ready: true };
  };
}
