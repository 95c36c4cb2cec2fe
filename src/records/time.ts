/**
 * Wootric speaks three timestamp dialects (docs.wootric.com/api and /webhooks examples):
 *   list/GET and form webhooks  "2024-03-05 10:15:02 -0800" (old examples without the offset)
 *   JSON webhooks and writes    "2024-03-05T10:15:02.558-08:00"
 *   filters and a few fields    Unix seconds
 * Everything is normalised to UTC here.
 */

const SPACED = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/** Beyond ±8.64e15 ms a Date is invalid and toISOString() throws: such a value is not a timestamp we understand. */
const MAX_DATE_MS = 8.64e15;

/** Milliseconds since the epoch, or undefined when the value is not a timestamp we understand. */
function parseWootricTimeMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) {
    // Unix seconds unless it is obviously milliseconds (after year 33658 in seconds).
    const ms = value > 1e12 ? Math.trunc(value) : Math.trunc(value * 1000);
    return Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
  }
  if (typeof value !== "string") return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseWootricTimeMs(Number(s));
  const m = SPACED.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const offset =
    zone === undefined || zone === "Z" ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${se}${frac ? frac.slice(0, 4).padEnd(4, "0") : ""}${offset}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Whole epoch seconds (floor), the resolution the REST API has: webhooks carry milliseconds, the API does not. */
export function toEpochSeconds(value: unknown): number | undefined {
  const ms = parseWootricTimeMs(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

export function toIsoUtc(value: unknown): string | undefined {
  const ms = parseWootricTimeMs(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** YYYY-MM-DD of an instant, in UTC. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Whether a timestamp names a millisecond ("ms": JSON webhooks, ISO-8601 with a fraction) or only a whole second
 * ("s": the REST API's and form webhooks' "2024-03-05 10:15:02 -0800", Unix seconds). Undefined when not a timestamp.
 */
export function timePrecision(value: unknown): "ms" | "s" | undefined {
  if (parseWootricTimeMs(value) === undefined) return undefined;
  if (typeof value === "number") return value > 1e12 ? "ms" : "s";
  const s = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) > 1e12 ? "ms" : "s";
  return SPACED.exec(s)?.[7] !== undefined ? "ms" : "s";
}
