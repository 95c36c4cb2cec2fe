/**
 * JSON bodies parsed without recursion on hostile input and without changing any number.
 *
 * V8's JSON.parse is not recursive (a million nested arrays parse on Node 20 and 24), but everything after it is
 * (validation, the canonical JSON of the dedup hash, serialisation): a body nested thousands of levels deep would
 * exhaust the stack somewhere on the way. One linear scan of the parsed text measures the nesting before anything
 * recursive runs. The same scan finds number literals a JavaScript
 * number cannot hold exactly (integers above 2^53, `1e309`, more digits than a double keeps): those are kept as
 * their source text, a JSON string, so the record is stored as sent instead of rounded or turned into null.
 * Node 21+ offers the source text through JSON.parse's reviver (`context.source`); Node 20 does not, hence the scan.
 */

import { MAX_RECORD_DEPTH } from "../records/envelope.js";

/** Deeper than any Wootric record (a response nests 3 levels); deep enough for arbitrary end-user properties. */
export const MAX_JSON_DEPTH = MAX_RECORD_DEPTH;

export class JsonTextError extends Error {
  constructor(
    message: string,
    readonly tooDeep = false,
  ) {
    super(message);
    this.name = "JsonTextError";
  }
}

interface Scan {
  maxDepth: number;
  /** [start, end) of number literals that do not survive a round trip through a JavaScript number. */
  inexact: [number, number][];
}

/** One pass over the text: stops as soon as the nesting passes `limit`. Never recursive. */
function scan(text: string, limit: number): Scan {
  let depth = 0;
  let maxDepth = 0;
  const inexact: [number, number][] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) {
        maxDepth = depth;
        if (depth > limit) return { maxDepth, inexact };
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i + 1 < text.length && /[0-9eE+\-.]/.test(text[i + 1]!)) i++;
      if (!numberIsExact(text.slice(start, i + 1))) inexact.push([start, i + 1]);
    }
  }
  return { maxDepth, inexact };
}

/** Decimal digits without leading/trailing zeros and the exponent of the first digit: equal for equal values. */
function normalise(literal: string): { digits: string; exponent: number } | undefined {
  const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return undefined;
  const intPart = m[1]!;
  const all = intPart + (m[2] ?? "");
  const lead = all.length - all.replace(/^0+/, "").length;
  const digits = all.slice(lead).replace(/0+$/, "");
  if (digits === "") return { digits: "", exponent: 0 };
  return { digits, exponent: intPart.length - lead + Number(m[3] ?? 0) };
}

/** Whether JSON.parse followed by JSON.stringify gives back the same value for this literal. */
export function numberIsExact(literal: string): boolean {
  const n = Number(literal);
  if (!Number.isFinite(n)) return false;
  const a = normalise(literal);
  const b = normalise(String(Math.abs(n)).replace(/^(\d+(?:\.\d+)?)e\+?/, "$1e"));
  if (!a || !b) return false;
  return a.digits === b.digits && (a.digits === "" || a.exponent === b.exponent);
}

/**
 * JSON.parse with a nesting limit and lossless numbers. `__proto__` stays an ordinary own property (JSON.parse
 * defines keys, it never assigns them). Throws JsonTextError.
 */
export function parseJsonText(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  // JSON.parse first (V8's is not recursive): text that is not JSON at all, such as a form body whose values hold
  // brackets, must fail as "not JSON" so the other format is tried, not as "too deep".
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new JsonTextError((err as Error).message);
  }
  const s = scan(text, maxDepth);
  if (s.maxDepth > maxDepth) {
    throw new JsonTextError(`JSON nests deeper than ${maxDepth} levels (arrays and objects inside each other)`, true);
  }
  if (s.inexact.length === 0) return value;
  // The text is valid JSON, so every literal found is a value: quoting it keeps the document valid.
  let out = "";
  let from = 0;
  for (const [start, end] of s.inexact) {
    out += `${text.slice(from, start)}"${text.slice(start, end)}"`;
    from = end;
  }
  return JSON.parse(out + text.slice(from)) as unknown;
}
