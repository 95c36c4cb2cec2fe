import { createHmac } from "node:crypto";

export function sign(secret: string, body: string | Buffer): string {
  return `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`;
}

/** A Wootric-shaped JSON webhook for response `id` (updated_at in the JSON dialect, with milliseconds). */
export function responseWebhook(id: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    response: {
      id,
      email: `user${id}@example.com`,
      score: id % 11,
      text: `comment ${id}`,
      end_user_id: 1000 + id,
      survey_id: 2000 + id,
      end_user_properties: { plan: "Pro" },
      created_at: "2024-03-05T10:15:02.558-08:00",
      updated_at: "2024-03-05T10:15:31.004-08:00",
      excluded_from_calculations: false,
      ...extra,
    },
    event_name: "created",
    timestamp: "2024-03-05T10:15:33.120-08:00",
    account_token: "NPS-test",
    survey_mode: "NPS",
  });
}

export interface PostOptions {
  secret?: string;
  signature?: string;
  contentType?: string | null;
}

/** POSTs a webhook; signs it with `secret` unless `signature` is given. */
export async function postWebhook(
  baseUrl: string,
  body: string | Buffer,
  opts: PostOptions = {},
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers["content-type"] = opts.contentType ?? "application/json";
  const signature = opts.signature ?? (opts.secret !== undefined ? sign(opts.secret, body) : undefined);
  if (signature !== undefined) headers["x-wootric-signature"] = signature;
  // A Buffer body, so fetch adds no Content-Type of its own (a string body would get text/plain).
  const res = await fetch(`${baseUrl}/webhooks/wootric`, { method: "POST", headers, body: Buffer.from(body) });
  return { status: res.status, body: await res.text() };
}
