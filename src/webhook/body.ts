import qs from "qs";
import { JsonTextError, parseJsonText } from "./json-text.js";

export type PayloadFormat = "json" | "form";

export type ContentTypeCheck =
  | { ok: true; format: PayloadFormat | "sniff"; charset: string }
  | { ok: false; reason: string };

/**
 * `application/json` and `application/x-www-form-urlencoded`, with or without a charset parameter. Wootric does not
 * document its Content-Type, so a request without one is sniffed (JSON first, then form) like the official sample does.
 */
export function checkContentType(header: string | undefined): ContentTypeCheck {
  if (header === undefined || header.trim() === "") return { ok: true, format: "sniff", charset: "utf-8" };
  const [typePart, ...params] = header.split(";");
  const type = typePart!.trim().toLowerCase();
  let charset = "utf-8";
  for (const p of params) {
    const [k, v] = p.split("=");
    if (k?.trim().toLowerCase() === "charset" && v !== undefined)
      charset = v.trim().replace(/^"|"$/g, "").toLowerCase();
  }
  if (!isSupportedCharset(charset)) return { ok: false, reason: `unsupported charset ${charset}` };
  if (type === "application/json") return { ok: true, format: "json", charset };
  if (type === "application/x-www-form-urlencoded") return { ok: true, format: "form", charset };
  return {
    ok: false,
    reason: `unsupported content type ${type}; send application/json or application/x-www-form-urlencoded`,
  };
}

function isSupportedCharset(charset: string): boolean {
  try {
    new TextDecoder(charset);
    return true;
  } catch {
    return false;
  }
}

export class PayloadParseError extends Error {
  /** Set when the body is recognisably this format but refused (too deep): no other format is tried. */
  readonly final: boolean;
  constructor(message: string, opts: { final?: boolean } = {}) {
    super(message);
    this.name = "PayloadParseError";
    this.final = opts.final ?? false;
  }
}

/** Decodes and parses a webhook body. Throws PayloadParseError; type coercion of form strings happens in the schemas. */
export function parsePayload(
  raw: Buffer,
  format: PayloadFormat | "sniff",
  charset = "utf-8",
): { format: PayloadFormat; value: unknown } {
  let text: string;
  try {
    text = new TextDecoder(charset, { fatal: true }).decode(raw);
  } catch {
    throw new PayloadParseError(`body is not valid ${charset} text`);
  }
  if (format === "json") return { format, value: parseJson(text) };
  if (format === "form") return { format, value: parseForm(text, charset) };
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return { format: "json", value: parseJson(text) };
  return { format: "form", value: parseForm(text, charset) };
}

function parseJson(text: string): unknown {
  if (text.trim() === "") throw new PayloadParseError("body is empty");
  try {
    return parseJsonText(text);
  } catch (err) {
    if (err instanceof JsonTextError && err.tooDeep)
      throw new PayloadParseError(`body: ${err.message}`, { final: true });
    throw new PayloadParseError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Form keys nest at most this deep (`response[end_user_properties][plan]` is 2); deeper is refused, not flattened. */
const MAX_FORM_DEPTH = 10;

/** Rails-style nested keys (`response[end_user_properties][plan]=Pro`), every value a string. */
function parseForm(text: string, charset: string): Record<string, unknown> {
  if (text.trim() === "") throw new PayloadParseError("body is empty");
  if (!text.includes("=")) throw new PayloadParseError("body is not form-urlencoded (no key=value pairs)");
  try {
    const parsed = qs.parse(text, {
      charset: charset === "iso-8859-1" || charset === "latin1" ? "iso-8859-1" : "utf-8",
      depth: MAX_FORM_DEPTH,
      arrayLimit: 1000,
      parameterLimit: 100_000,
      allowPrototypes: false,
      strictDepth: true,
      // qs drops every `__proto__` key; hidden from it under a placeholder, it is restored as an ordinary own key.
      decoder: (str, decode, cs, kind) => {
        const decoded = decode(str, decode, cs) as string;
        return kind === "key" ? decoded.replaceAll("__proto__", PROTO_PLACEHOLDER) : decoded;
      },
    });
    return restoreProtoKeys(parsed) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof RangeError) throw new PayloadParseError(`form keys nest deeper than ${MAX_FORM_DEPTH} levels`);
    throw new PayloadParseError(`body is not valid form-urlencoded data: ${(err as Error).message}`);
  }
}

export interface ParsedBody {
  format: PayloadFormat;
  value: unknown;
  /** The body parsed as the other format than its Content-Type declared (a mislabelled body). */
  mislabelled: boolean;
}

/**
 * Parses by content, not only by label, as Wootric's own sample receiver does (`JSON.parse(body) rescue params`):
 * the body is tried as JSON first, then as form data, whatever its Content-Type says. A body that is valid JSON is
 * never a form webhook (those are `key=value` pairs), so the order cannot misread a correctly labelled body.
 * Throws PayloadParseError, with the reason for the declared format, when neither parses.
 */
export function parseByContent(raw: Buffer, declared: PayloadFormat | "sniff", charset = "utf-8"): ParsedBody {
  const attempts: PayloadFormat[] = ["json", "form"];
  const errors = new Map<PayloadFormat, PayloadParseError>();
  for (const format of attempts) {
    try {
      const parsed = parsePayload(raw, format, charset);
      return { ...parsed, mislabelled: declared !== "sniff" && declared !== parsed.format };
    } catch (err) {
      if (!(err instanceof PayloadParseError) || err.final) throw err;
      errors.set(format, err);
    }
  }
  if (declared !== "sniff") throw errors.get(declared)!;
  const trimmed = raw.toString("latin1", 0, Math.min(raw.length, 64)).trimStart();
  throw errors.get(trimmed.startsWith("{") || trimmed.startsWith("[") ? "json" : "form")!;
}

const PROTO_PLACEHOLDER = "\u0000wf-proto\u0000";

/** Renames placeholder keys back to `__proto__`, defined as own data properties (assignment would set the prototype). */
function restoreProtoKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(restoreProtoKeys);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k.replaceAll(PROTO_PLACEHOLDER, "__proto__"), {
      value: restoreProtoKeys(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
