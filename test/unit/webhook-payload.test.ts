import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeEnvelope } from "../../src/records/envelope.js";
import { checkContentType, PayloadParseError, parsePayload } from "../../src/webhook/body.js";
import { type RawWebhook, webhookToEnvelopes } from "../../src/webhook/payload.js";

const receivedAt = new Date("2026-11-27T08:00:00.000Z");
const raw = (s: string): RawWebhook => ({ raw: Buffer.from(s), contentType: "application/json", receivedAt });

const JSON_RESPONSE = {
  response: {
    id: 1128,
    email: "ana@example.com",
    external_id: "u-42",
    score: 7,
    text: null,
    ip_address: "203.0.113.7",
    origin_url: "https://app.example.com/",
    end_user_id: 30,
    end_user_properties: { pricing_plan: "Enterprise" },
    survey_id: 1146,
    created_at: "2024-03-05T10:15:02.558-08:00",
    updated_at: "2024-03-05T10:15:40.558-08:00",
    excluded_from_calculations: false,
    brand_new_field: { nested: [1, 2] },
  },
  event_name: "created",
  timestamp: "2024-03-05T10:15:07.329-08:00",
  account_token: "NPS-xxxxxxxx",
  survey_mode: "NPS",
};

const FORM_RESPONSE =
  "response[id]=1128&response[email]=ana%40example.com&response[external_id]=u-42&response[score]=7&response[text]=" +
  "&response[ip_address]=203.0.113.7&response[origin_url]=https%3A%2F%2Fapp.example.com%2F&response[end_user_id]=30" +
  "&response[end_user_properties][pricing_plan]=Enterprise&response[survey_id]=1146" +
  "&response[created_at]=2024-03-05+10%3A15%3A02+-0800&response[updated_at]=2024-03-05%2010%3A15%3A40%20-0800" +
  "&response[excluded_from_calculations]=false&event_name=updated&timestamp=2024-03-05%2010%3A15%3A07%20-0800" +
  "&account_token=NPS-xxxxxxxx&survey_mode=NPS";

describe("content type", () => {
  test("JSON and form, with or without charset; sniffed when absent; others refused", () => {
    assert.deepEqual(checkContentType("application/json"), { ok: true, format: "json", charset: "utf-8" });
    assert.deepEqual(checkContentType("Application/JSON; charset=UTF-8"), {
      ok: true,
      format: "json",
      charset: "utf-8",
    });
    assert.deepEqual(checkContentType("application/x-www-form-urlencoded; charset=utf-8"), {
      ok: true,
      format: "form",
      charset: "utf-8",
    });
    assert.deepEqual(checkContentType(undefined), { ok: true, format: "sniff", charset: "utf-8" });
    assert.equal(checkContentType("text/plain").ok, false);
    assert.equal(checkContentType("multipart/form-data; boundary=x").ok, false);
    assert.equal(checkContentType("application/json; charset=klingon").ok, false);
  });
});

describe("webhook payloads", () => {
  test("JSON response: typed record, unknown fields and wrapper kept", () => {
    const parsed = parsePayload(Buffer.from(JSON.stringify(JSON_RESPONSE)), "json");
    const { envelopes, deadLetters } = webhookToEnvelopes(parsed.value, raw(""));
    assert.equal(deadLetters.length, 0);
    assert.equal(envelopes.length, 1);
    const e = envelopes[0]!;
    assert.equal(e.entity, "response");
    assert.equal(e.id, 1128);
    assert.equal(e.source, "webhook");
    assert.equal(e.event_name, "created");
    assert.equal(e.account_token, "NPS-xxxxxxxx");
    assert.equal(e.survey_mode, "NPS");
    assert.equal(e.timestamp, "2024-03-05T10:15:07.329-08:00");
    assert.equal(e.received_at, "2026-11-27T08:00:00.000Z");
    assert.equal(e.updated_at, "2024-03-05T18:15:40.558Z");
    assert.deepEqual(e.data.brand_new_field, { nested: [1, 2] });
    assert.deepEqual(e.data.end_user_properties, { pricing_plan: "Enterprise" });
  });

  test("form response: Rails-style brackets parsed, strings coerced to numbers and booleans", () => {
    const parsed = parsePayload(Buffer.from(FORM_RESPONSE), "form");
    assert.equal(parsed.format, "form");
    const { envelopes } = webhookToEnvelopes(parsed.value, raw(FORM_RESPONSE), "form");
    const e = envelopes[0]!;
    assert.equal(e.entity, "response");
    assert.equal(e.id, 1128);
    assert.equal(e.data.score, 7);
    assert.equal(e.data.end_user_id, 30);
    assert.equal(e.data.survey_id, 1146);
    assert.equal(e.data.excluded_from_calculations, false);
    // An empty comment arrives as `response[text]=`; JSON and the API send null, so the form's "" is null too.
    assert.equal(e.data.text, null);
    assert.equal(e.format, "form");
    assert.equal(e.data.email, "ana@example.com");
    assert.equal(e.data.origin_url, "https://app.example.com/");
    assert.deepEqual(e.data.end_user_properties, { pricing_plan: "Enterprise" });
    assert.equal(e.event_name, "updated");
    assert.equal(e.updated_at, "2024-03-05T18:15:40.000Z");
  });

  test("the same response by JSON webhook (ms) and by form/API format (seconds) has the same dedup_key", () => {
    const viaJson = webhookToEnvelopes(JSON_RESPONSE, raw("")).envelopes[0]!;
    const viaForm = webhookToEnvelopes(parsePayload(Buffer.from(FORM_RESPONSE), "form").value, raw("")).envelopes[0]!;
    const viaApi = makeEnvelope(
      "response",
      {
        id: 1128,
        score: 7,
        updated_at: "2024-03-05 10:15:40 -0800",
        created_at: "2024-03-05 10:15:02 -0800",
        tags: [],
        notes: [],
      },
      { source: "poll" },
    );
    assert.equal(viaJson.dedup_key, "response:1128:1709662540");
    assert.equal(viaForm.dedup_key, viaJson.dedup_key);
    assert.equal(viaApi.dedup_key, viaJson.dedup_key);
    const later = makeEnvelope("response", { id: 1128, updated_at: "2024-03-05 10:15:41 -0800" }, { source: "poll" });
    assert.notEqual(later.dedup_key, viaJson.dedup_key);
  });

  test("decline created, and an unknown event_name is kept", () => {
    const body = {
      decline: {
        id: 19,
        email: "bo@example.com",
        end_user_id: 31,
        survey_id: 1147,
        created_at: "2024-03-05T10:16:21.122-08:00",
        updated_at: "2024-03-05T10:16:21.122-08:00",
      },
      event_name: "deleted_maybe_someday",
      timestamp: "2024-03-05T10:16:23.309-08:00",
      account_token: "NPS-x",
      survey_mode: "CES",
    };
    const { envelopes, deadLetters } = webhookToEnvelopes(body, raw(""));
    assert.equal(deadLetters.length, 0);
    assert.equal(envelopes[0]!.entity, "decline");
    assert.equal(envelopes[0]!.id, 19);
    assert.equal(envelopes[0]!.event_name, "deleted_maybe_someday");
    assert.equal(envelopes[0]!.survey_mode, "CES");
  });

  test("form decline with a tags[] array and a percent-encoded UTF-8 comment", () => {
    const form = "decline[id]=19&decline[end_user_properties][name]=Jos%C3%A9&event_name=created";
    const e = webhookToEnvelopes(parsePayload(Buffer.from(form), "sniff").value, raw(form)).envelopes[0]!;
    assert.equal(e.entity, "decline");
    assert.deepEqual(e.data.end_user_properties, { name: "José" });
  });

  test("a body with neither record, or with an invalid record, becomes a dead letter holding the raw bytes", () => {
    const none = webhookToEnvelopes({ event_name: "created" }, raw('{"event_name":"created"}'));
    assert.equal(none.envelopes[0]!.entity, "dead_letter");
    assert.equal(none.deadLetters[0]!.kind, "no_record");
    assert.equal(none.envelopes[0]!.data.raw, '{"event_name":"created"}');

    const bad = webhookToEnvelopes({ response: { id: "not-a-number" }, event_name: "created" }, raw("x"));
    assert.equal(bad.envelopes[0]!.entity, "dead_letter");
    assert.equal(bad.deadLetters[0]!.kind, "invalid_record");
    assert.equal(bad.envelopes[0]!.data.intended_entity, "response");
    assert.match(String(bad.envelopes[0]!.data.reason), /id/);

    const arr = webhookToEnvelopes([1, 2], raw("[1,2]"));
    assert.equal(arr.envelopes[0]!.entity, "dead_letter");
  });

  test("unparsable bodies throw PayloadParseError", () => {
    assert.throws(() => parsePayload(Buffer.from("{not json"), "json"), PayloadParseError);
    assert.throws(() => parsePayload(Buffer.from(""), "json"), PayloadParseError);
    assert.throws(() => parsePayload(Buffer.from("just some text"), "form"), PayloadParseError);
    assert.throws(() => parsePayload(Buffer.from([0xff, 0xfe, 0x7b]), "json"), PayloadParseError);
    assert.equal(parsePayload(Buffer.from('{"a":1}'), "sniff").format, "json");
  });
});
