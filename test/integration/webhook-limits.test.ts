import assert from "node:assert/strict";
import { request, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import type { HttpLimits } from "../../src/config/index.js";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import { createApp } from "../../src/webhook/app.js";
import { listenWithLimits } from "../../src/webhook/server.js";
import { MemorySink } from "../helpers/memory-sink.js";
import { responseWebhook, sign } from "../helpers/webhook.js";

const SECRET = "a-test-secret-of-32-characters!!";
const MiB = 1024 * 1024;

const DEFAULT_LIMITS: HttpLimits = {
  maxConnections: 100,
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 10_000,
  bodyIdleTimeoutMs: 2_000,
  maxInflightBodyBytes: 64 * MiB,
  keepAliveTimeoutMs: 5_000,
};

async function start(limits: Partial<HttpLimits> = {}): Promise<{ server: Server; port: number; sink: MemorySink }> {
  const sink = new MemorySink();
  const all = { ...DEFAULT_LIMITS, ...limits };
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    secrets: [SECRET],
    allowUnsigned: false,
    maxBodyBytes: MiB,
    readiness: () => ({ ready: true }),
    limits: all,
  });
  const server = await listenWithLimits(app, { port: 0, host: "127.0.0.1" }, all, {
    connectionsCheckingIntervalMs: 100,
  });
  return { server, port: (server.address() as AddressInfo).port, sink };
}

/** Starts a POST announcing `length` bytes, sends `send` of them, and reports the response when it comes. */
function stalledPost(port: number, length: number, send: number, headers: Record<string, string> = {}) {
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/webhooks/wootric",
    headers: {
      "content-type": "application/json",
      "content-length": String(length),
      "x-wootric-signature": "sha1=0000",
      ...headers,
    },
  });
  const response = new Promise<{ status: number; headers: Record<string, unknown> } | "closed">((resolve) => {
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on("error", () => resolve("closed"));
  });
  req.write(Buffer.alloc(send, 0x20));
  return { req, response };
}

describe("bounded memory before authentication", () => {
  test("body bytes in flight have a global budget: beyond it 503 with Retry-After, before the body is read", async () => {
    const { server, port } = await start({ maxInflightBodyBytes: 4 * MiB });
    const posts = Array.from({ length: 10 }, () => stalledPost(port, MiB, 1024));
    try {
      const early = await Promise.race([
        Promise.all(posts.slice(4).map((p) => p.response)),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 3_000)),
      ]);
      assert.notEqual(early, "timeout", "the requests over the budget are answered at once");
      for (const r of early as { status: number; headers: Record<string, unknown> }[]) {
        assert.equal(r.status, 503);
        assert.ok(Number(r.headers["retry-after"]) > 0);
      }
    } finally {
      for (const p of posts) p.req.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  test("chunked bodies (no Content-Length) draw on the same budget as they arrive", async () => {
    const { server, port } = await start({ maxInflightBodyBytes: 2 * MiB });
    const chunked = () => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/webhooks/wootric",
        headers: {
          "content-type": "application/json",
          "transfer-encoding": "chunked",
          "x-wootric-signature": "sha1=00",
        },
      });
      const response = new Promise<number | "closed">((resolve) => {
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", () => resolve("closed"));
      });
      return { req, response };
    };
    const posts = [chunked(), chunked(), chunked()];
    try {
      // 900 KiB each, in 100 KiB chunks: two fit the 2 MiB budget, the third does not.
      for (let i = 0; i < 9; i++) for (const p of posts) p.req.write(Buffer.alloc(100 * 1024, 0x20));
      const first = await Promise.race([
        Promise.race(posts.map((p) => p.response)),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 3_000)),
      ]);
      assert.equal(first, 503, "the request that would pass the budget is answered 503");
    } finally {
      for (const p of posts) p.req.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  test("a body that stalls is answered 408 within seconds", async () => {
    const { server, port } = await start({ bodyIdleTimeoutMs: 300 });
    const post = stalledPost(port, 1000, 10);
    try {
      const started = Date.now();
      const r = await post.response;
      assert.notEqual(r, "closed");
      assert.equal((r as { status: number }).status, 408);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      post.req.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  test("headers that never finish are answered 408 within seconds", async () => {
    const { server, port } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    const socket = connect(port, "127.0.0.1");
    try {
      const answer = new Promise<string>((resolve) => {
        let data = "";
        socket.on("data", (d) => {
          data += d.toString();
        });
        socket.on("close", () => resolve(data));
        socket.on("error", () => resolve(data));
      });
      socket.write("POST /webhooks/wootric HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      const started = Date.now();
      assert.match(await answer, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  test("connections beyond the cap are refused", async () => {
    const { server, port } = await start({ maxConnections: 2 });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = connect(port, "127.0.0.1");
        await new Promise((r) => s.once("connect", r));
        sockets.push(s);
      }
      const third = connect(port, "127.0.0.1");
      sockets.push(third);
      third.on("error", () => undefined);
      const outcome = await Promise.race([
        new Promise<"closed">((resolve) => third.on("close", () => resolve("closed"))),
        new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 3_000)),
      ]);
      assert.equal(outcome, "closed", "the server drops the connection over the cap");
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  test("compressed bodies are refused with 415 (the signature covers the exact bytes; Wootric never compresses)", async () => {
    const { server, port, sink } = await start();
    try {
      for (const encoding of ["gzip", "deflate", "br"]) {
        const body = gzipSync(responseWebhook(1));
        const res = await fetch(`http://127.0.0.1:${port}/webhooks/wootric`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-encoding": encoding,
            "x-wootric-signature": sign(SECRET, body),
          },
          body,
        });
        assert.equal(res.status, 415, encoding);
        assert.match(await res.text(), /Content-Encoding/);
      }
      assert.equal(sink.written.length, 0);
      const ok = await fetch(`http://127.0.0.1:${port}/webhooks/wootric`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-encoding": "identity",
          "x-wootric-signature": sign(SECRET, responseWebhook(2)),
        },
        body: Buffer.from(responseWebhook(2)),
      });
      assert.equal(ok.status, 200);
    } finally {
      server.close();
    }
  });
});
