import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeEnvelope, RecordValidationError, serializeEnvelope } from "../../src/records/envelope.js";
import { PayloadParseError, parsePayload } from "../../src/webhook/body.js";
import { unparsableWebhook, webhookToEnvelopes } from "../../src/webhook/payload.js";

function store(body: string, format: "json" | "form" = "json") {
  const raw = Buffer.from(body);
  const input = { raw, contentType: undefined, receivedAt: new Date("2026-11-30T00:00:00Z") };
  try {
    return webhookToEnvelopes(parsePayload(raw, format).value, input);
  } catch (err) {
    if (!(err instanceof PayloadParseError)) throw err;
    return unparsableWebhook(input, err.message);
  }
}

describe("webhook bodies are kept as sent", () => {
  test("numbers a JavaScript number cannot hold exactly stay as their source text", () => {
    const r = store(
      '{"response":{"id":7,"updated_at":"2024-03-05T10:15:31Z","end_user_properties":{"big":12345678901234567890,"huge":1e309,"tiny":1e-400,"precise":0.10000000000000000001,"fine":1.5,"safe":9007199254740991}}}',
    );
    assert.equal(r.deadLetters.length, 0);
    const line = serializeEnvelope(r.envelopes[0]!);
    assert.match(line, /"big":"12345678901234567890"/);
    assert.match(line, /"huge":"1e309"/);
    assert.match(line, /"tiny":"1e-400"/);
    assert.match(line, /"precise":"0.10000000000000000001"/);
    assert.match(line, /"fine":1.5/);
    assert.match(line, /"safe":9007199254740991/);
  });

  test("a string that looks like a number is not touched", () => {
    const r = store('{"response":{"id":7,"text":"12345678901234567890 \\" 1e309","updated_at":1}}');
    assert.equal(r.envelopes[0]!.data.text, '12345678901234567890 " 1e309');
  });

  test("__proto__ keys are kept as data, in JSON and form bodies, and pollute nothing", () => {
    const json = store(
      '{"response":{"id":7,"updated_at":1,"__proto__":{"polluted":"yes"},"end_user_properties":{"__proto__":"p"}}}',
    );
    const line = serializeEnvelope(json.envelopes[0]!);
    assert.match(line, /"__proto__":\{"polluted":"yes"\}/);
    assert.match(line, /"end_user_properties":\{"__proto__":"p"\}/);
    const form = store(
      "response[id]=7&response[__proto__][polluted]=yes&response[end_user_properties][__proto__]=p",
      "form",
    );
    const formLine = serializeEnvelope(form.envelopes[0]!);
    assert.match(formLine, /"__proto__":\{"polluted":"yes"\}/);
    assert.match(formLine, /"end_user_properties":\{"__proto__":"p"\}/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("nesting over the limit is a dead letter holding the raw bytes, JSON and form alike", () => {
    for (const [body, format] of [
      [`{"response":{"id":7,"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`, "json"],
      [`response[id]=7&response${"[a]".repeat(50)}=1`, "form"],
    ] as const) {
      const r = store(body, format);
      assert.equal(r.envelopes.length, 1, format);
      assert.equal(r.envelopes[0]!.entity, "dead_letter", format);
      assert.equal(r.envelopes[0]!.data.raw, body, format);
      assert.match(String(r.envelopes[0]!.data.reason), /nests? deeper/, format);
    }
  });
});

describe("records from the API", () => {
  test("a record nested past the limit is a validation error (a dead letter for the poller), never a stack overflow", () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(
      () => makeEnvelope("response", { id: 1, updated_at: 1, tags: deep }, { source: "poll" }),
      (err: unknown) => err instanceof RecordValidationError && /nests deeper than 64/.test(err.message),
    );
    assert.equal(makeEnvelope("response", { id: 1, tags: [[[1]]] }, { source: "poll" }).id, 1);
  });
});
