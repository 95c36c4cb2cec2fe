/** Whether a part of the service can take traffic now, and if not, why (shown by /readyz). */
export interface Readiness {
  ready: boolean;
  reason?: string;
  /** Conditions an operator must look at that do not stop intake (e.g. corrupt spool bytes set aside). */
  warnings?: string[];
  /** Figures shown with /readyz whether ready or not (e.g. the spool's backlog and its drain estimate). */
  detail?: Record<string, number | string>;
}

/** Ready only when every part is: the first one that is not gives the reason. Warnings and detail of every part are kept. */
export function combineReadiness(parts: readonly (() => Readiness)[]): () => Readiness {
  return () => {
    const warnings: string[] = [];
    let detail: Record<string, number | string> | undefined;
    let failed: Readiness | undefined;
    for (const part of parts) {
      const r = part();
      warnings.push(...(r.warnings ?? []));
      if (r.detail) detail = { ...detail, ...r.detail };
      if (!r.ready && !failed) failed = r;
    }
    const result: Readiness = failed ? { ready: false, reason: failed.reason ?? "unknown" } : { ready: true };
    if (warnings.length > 0) result.warnings = warnings;
    if (detail) result.detail = detail;
    return result;
  };
}

const ERRNO_PHRASES: Record<string, string> = {
  ENOSPC: "disk full",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
};

/**
 * Readiness text for anyone who can reach /readyz (no authentication): absolute paths and the operating system's
 * error text are replaced by a short phrase. The full text stays in the logs, where operators read it.
 */
export function publicReadinessText(text: string): string {
  return text
    .replace(/\b(E[A-Z0-9]{2,}): [^,;]*(?:, [a-z]+(?: '[^']*')?(?: -> '[^']*')?)?/g, (_m, code: string) => {
      return ERRNO_PHRASES[code] ?? "I/O error";
    })
    .replace(/(^|[\s'"(=:])\/[^\s'",;)]+/g, "$1<path>");
}
