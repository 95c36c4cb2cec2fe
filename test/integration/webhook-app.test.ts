import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import type { Envelope } from "../../src/records/envelope.js";
import { type Sink, SinkUnavailableError } from "../../src/sink/sink.js";
import { createApp } from "../../src/webhook/app.js";
import { postWebhook, responseWebhook, sign } from "../helpers/webhook.js";

/** A sink whose writes settle only when the test says so. */
function controllableSink() {
  const pending: { envelopes: readonly Envelope[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const sink: Sink = {
    kind: "test",
    write: (envelopes) => new Promise((resolve, reject) => pending.push({ envelopes, resolve, reject })),
    readiness: () => ({ ready: true }),
    close: async () => undefined,
  };
  return { sink, pending };
}

async function listen(sink: Sink): Promise<{ url: string; server: Server }> {
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    secrets: ["s"],
    allowUnsigned: false,
    maxBodyBytes: 1024 * 1024,
    readiness: () => ({ ready: true }),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe("webhook app and the sink", () => {
  test("the 200 is sent only after sink.write() resolved", async () => {
    const { sink, pending } = controllableSink();
    const { url, server } = await listen(sink);
    try {
      let answered = false;
      const res = postWebhook(url, responseWebhook(1), { secret: "s" }).then((r) => {
        answered = true;
        return r;
      });
      while (pending.length === 0) await settle();
      await settle();
      assert.equal(answered, false, "no answer while the write is not durable");
      assert.equal(pending[0]!.envelopes[0]!.id, 1);
      pending[0]!.resolve();
      assert.equal((await res).status, 200);
    } finally {
      server.close();
    }
  });

  test("503 with Retry-After when the write rejects", async () => {
    const { sink, pending } = controllableSink();
    const { url, server } = await listen(sink);
    try {
      const res = fetch(`${url}/webhooks/wootric`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-wootric-signature": sign("s", responseWebhook(2)) },
        body: responseWebhook(2),
      });
      while (pending.length === 0) await settle();
      pending[0]!.reject(new SinkUnavailableError("disk full"));
      const r = await res;
      assert.equal(r.status, 503);
      assert.equal(r.headers.get("retry-after"), "5");
    } finally {
      server.close();
    }
  });

  test("a timestamp outside the Date range is stored (200), not answered 500 forever", async () => {
    const { sink, pending } = controllableSink();
    const { url, server } = await listen(sink);
    try {
      const body = responseWebhook(4, { updated_at: 1e20, created_at: "99999999999999999999" });
      const res = postWebhook(url, body, { secret: "s" });
      while (pending.length === 0 && !(await Promise.race([res.then(() => true), settle().then(() => false)]))) {}
      assert.equal(pending.length, 1, "the record reached the sink");
      const e = pending[0]!.envelopes[0]!;
      assert.equal(e.entity, "response");
      assert.equal(e.updated_at, null);
      assert.equal(e.data.updated_at, 1e20, "the value is kept as sent");
      pending[0]!.resolve();
      assert.equal((await res).status, 200);
    } finally {
      server.close();
    }
  });

  test("401 and 415 never reach the sink", async () => {
    const { sink, pending } = controllableSink();
    const { url, server } = await listen(sink);
    try {
      assert.equal((await postWebhook(url, responseWebhook(3), { secret: "nope" })).status, 401);
      assert.equal((await postWebhook(url, responseWebhook(3), { secret: "s", contentType: "text/csv" })).status, 415);
      assert.equal((await postWebhook(url, responseWebhook(3), { signature: "" })).status, 401);
      assert.equal(pending.length, 0);
      assert.equal((await fetch(`${url}/nope`)).status, 404);
    } finally {
      server.close();
    }
  });
});
