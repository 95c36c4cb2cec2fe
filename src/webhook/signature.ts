import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-wootric-signature";

export type SignatureCheck =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: "missing" | "malformed" | "mismatch" };

/** `sha1=<hex>`: 40 hex digits, prefix case-insensitive and optional, whitespace around the parts tolerated. */
const HEADER_FORMAT = /^(?:sha1\s*=\s*)?([0-9a-f]{40})$/i;

/** The header value Wootric sends for `body` signed with `secret`. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`;
}

/**
 * Verifies `X-Wootric-Signature` over the raw request bytes against every configured secret (several during a
 * rotation). The comparison is constant-time and every secret is tried, so timing reveals neither the digest nor
 * which secret matched.
 */
export function verifySignature(
  rawBody: Buffer,
  header: string | string[] | undefined,
  secrets: readonly string[],
): SignatureCheck {
  const value = Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : header;
  if (value === undefined || value.trim() === "") return { ok: false, reason: "missing" };
  const m = HEADER_FORMAT.exec(value.trim());
  if (!m) return { ok: false, reason: "malformed" };
  const given = Buffer.from(m[1]!, "hex");
  let matched = -1;
  secrets.forEach((secret, i) => {
    const expected = createHmac("sha1", secret).update(rawBody).digest();
    if (timingSafeEqual(expected, given) && matched < 0) matched = i;
  });
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: "mismatch" };
}
