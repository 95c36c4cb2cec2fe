import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { serializeEnvelope } from "../../src/records/envelope.js";
import { createApp } from "../../src/webhook/app.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { responseWebhook, sign } from "../helpers/webhook.js";

const SECRET = "fuzz-secret-0123456789abcdef";
const MAX_BODY = 64 * 1024;
const sink = new MemorySink();
let server: Server;
let port: number;
let unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    secrets: [SECRET],
    allowUnsigned: false,
    maxBodyBytes: MAX_BODY,
    readiness: () => ({ ready: true }),
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  process.off("unhandledRejection", onUnhandled);
  server.closeAllConnections();
  server.close();
});

/** A raw POST (no client-side normalisation of headers or body). */
function post(body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/webhooks/wootric",
        agent: false,
        headers: { ...headers, "content-length": String(body.length) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** JSON values, including deep nesting, huge and tiny numbers, __proto__ keys. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("12345678901234567890", "1e309", "-0", "1e-400", "0.10000000000000000001", "true", "null"),
    fc.double().map((d) => JSON.stringify(Number.isFinite(d) ? d : 0)),
    fc.string().map((s) => JSON.stringify(s)),
    fc.array(tie("value"), { maxLength: 4 }).map((a) => `[${a.join(",")}]`),
    fc
      .array(fc.tuple(fc.constantFrom("__proto__", "id", "updated_at", "constructor", "x", ""), tie("value")), {
        maxLength: 4,
      })
      .map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
})).value;

const body = fc.oneof(
  // Arbitrary bytes.
  fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  // A real webhook with a hostile value somewhere in its record.
  fc
    .tuple(fc.integer({ min: 0, max: 10_000 }), hostileJson)
    .map(([id, v]) =>
      Buffer.from(responseWebhook(id).replace('"end_user_properties":{', `"end_user_properties":{"f":${v},`)),
    ),
  // A record nested far past the limit.
  fc
    .integer({ min: 60, max: 5_000 })
    .map((d) => Buffer.from(responseWebhook(1).replace('"text":', `"deep":${"[".repeat(d)}${"]".repeat(d)},"text":`))),
  // Form bodies with odd keys.
  fc
    .array(
      fc.tuple(
        fc.constantFrom("response[id]", "response[__proto__][x]", "response[a][b][c][d][e][f][g][h][i][j][k]", "x"),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 6 },
    )
    .map((kv) => Buffer.from(kv.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&"))),
  // Any JSON at all.
  hostileJson.map((v) => Buffer.from(v)),
);

const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=iso-8859-1",
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=latin1",
  "text/plain",
  "application/json; charset=klingon",
  "",
);
const contentEncoding = fc.constantFrom(undefined, "identity", "gzip", "deflate", "br", "x-unknown");

test("webhook path: any signed body, any content type and encoding is stored (records or a dead letter with its bytes) or refused with a 4xx, never a 5xx", async () => {
  await fc.assert(
    fc.asyncProperty(body, contentType, contentEncoding, async (raw, type, encoding) => {
      const headers: Record<string, string> = { "x-wootric-signature": sign(SECRET, raw) };
      if (type !== undefined) headers["content-type"] = type;
      if (encoding !== undefined) headers["content-encoding"] = encoding;
      const before = sink.written.length;
      const status = await post(raw, headers);
      assert.ok(status < 500, `answered ${status}`);
      const stored = sink.written.slice(before);
      if (status === 200) {
        assert.ok(stored.length >= 1, "a 200 stored something");
        for (const e of stored) {
          assert.doesNotThrow(() => serializeEnvelope(e));
          if (e.entity === "dead_letter") {
            const kept = Buffer.from(String(e.data.raw), e.data.raw_encoding === "base64" ? "base64" : "utf8");
            assert.ok(kept.equals(raw), "the dead letter holds the exact bytes");
          }
        }
      } else {
        assert.ok([413, 415].includes(status), `refused with ${status}`);
        assert.equal(stored.length, 0);
      }
      assert.deepEqual(unhandled, []);
    }),
    { numRuns: 200 },
  );
  unhandled = [];
});
