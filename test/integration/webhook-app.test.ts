import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../../src/log.js";
import { Metrics } from "../../src/ops/metrics.js";
import type { Envelope } from "../../src/records/envelope.js";
import { type Sink, SinkUnavailableError } from "../../src/sink/sink.js";
import { createApp } from "../../src/webhook/app.js";
import { eventually, never } from "../helpers/eventually.js";
import { type RunningServer, serve } from "../helpers/http-server.js";
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

function listen(sink: Sink): Promise<RunningServer> {
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics: new Metrics({ defaults: false }),
    secrets: ["s"],
    allowUnsigned: false,
    maxBodyBytes: 1024 * 1024,
    readiness: () => ({ ready: true }),
  });
  return serve(app);
}

/** Resolves once the app has handed a write to the sink. */
const written = (pending: unknown[]) => eventually(() => pending.length > 0, { what: "a write to reach the sink" });

describe("webhook app and the sink", () => {
  test("the 200 is sent only after sink.write() resolved", async () => {
    const { sink, pending } = controllableSink();
    const { url, close } = await listen(sink);
    try {
      let answered = false;
      const res = postWebhook(url, responseWebhook(1), { secret: "s" }).then((r) => {
        answered = true;
        return r;
      });
      await written(pending);
      await never(() => answered, { forMs: 100, what: "an answer while the write is not durable" });
      assert.equal(pending[0]!.envelopes[0]!.id, 1);
      pending[0]!.resolve();
      assert.equal((await res).status, 200);
    } finally {
      await close();
    }
  });

  test("503 with Retry-After when the write rejects", async () => {
    const { sink, pending } = controllableSink();
    const { url, close } = await listen(sink);
    try {
      const res = fetch(`${url}/webhooks/wootric`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-wootric-signature": sign("s", responseWebhook(2)) },
        body: responseWebhook(2),
      });
      await written(pending);
      pending[0]!.reject(new SinkUnavailableError("disk full"));
      const r = await res;
      assert.equal(r.status, 503);
      assert.equal(r.headers.get("retry-after"), "5");
    } finally {
      await close();
    }
  });

  test("a timestamp outside the Date range is stored (200), not answered 500 forever", async () => {
    const { sink, pending } = controllableSink();
    const { url, close } = await listen(sink);
    try {
      const body = responseWebhook(4, { updated_at: 1e20, created_at: "99999999999999999999" });
      const res = postWebhook(url, body, { secret: "s" });
      // either the record reaches the sink, or the app answers without it (then the assertion below says so)
      let answered = false;
      void res.then(() => (answered = true));
      await eventually(() => pending.length > 0 || answered, { what: "the sink write or an answer" });
      assert.equal(pending.length, 1, "the record reached the sink");
      const e = pending[0]!.envelopes[0]!;
      assert.equal(e.entity, "response");
      assert.equal(e.updated_at, null);
      assert.equal(e.data.updated_at, 1e20, "the value is kept as sent");
      pending[0]!.resolve();
      assert.equal((await res).status, 200);
    } finally {
      await close();
    }
  });

  test("401 and 415 never reach the sink", async () => {
    const { sink, pending } = controllableSink();
    const { url, close } = await listen(sink);
    try {
      assert.equal((await postWebhook(url, responseWebhook(3), { secret: "nope" })).status, 401);
      assert.equal((await postWebhook(url, responseWebhook(3), { secret: "s", contentType: "text/csv" })).status, 415);
      assert.equal((await postWebhook(url, responseWebhook(3), { signature: "" })).status, 401);
      assert.equal(pending.length, 0);
      assert.equal((await fetch(`${url}/nope`)).status, 404);
    } finally {
      await close();
    }
  });
});
