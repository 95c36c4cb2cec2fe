/**
 * Lone UTF-16 surrogates (half of an emoji cut off by a sender) cannot be encoded as UTF-8: JSON.stringify writes them
 * as `\ud83d` escapes, which strict UTF-8 readers downstream (Athena, Spark, jq) reject. They become U+FFFD, the
 * replacement character, the same thing a UTF-8 decoder does with a broken byte sequence.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

export function wellFormedString(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, "\uFFFD") : s;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The value with every string (object keys included) made well-formed. Only plain objects and arrays are walked;
 * anything else (a number kept as its source text, a Date) is left as it is. Returns the same reference when nothing
 * changed; never assigns through `obj[key] =`, so an own `__proto__` key stays a key.
 */
export function wellFormedDeep<T>(value: T): T {
  if (typeof value === "string") return wellFormedString(value) as T;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const fixed = wellFormedDeep(item);
      if (fixed !== item) {
        out ??= value.slice();
        out[i] = fixed;
      }
    });
    return (out ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let changed = false;
  const entries = Object.entries(value).map(([k, v]) => {
    const fk = wellFormedString(k);
    const fv = wellFormedDeep(v);
    if (fk !== k || fv !== v) changed = true;
    return [fk, fv] as const;
  });
  if (!changed) return value;
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out as T;
}
