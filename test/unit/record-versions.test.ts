import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { STREAMS } from "../../src/poller/streams.js";
import { type Envelope, makeEnvelope, serializeEnvelope, versionKey } from "../../src/records/envelope.js";
import { wellFormedDeep } from "../../src/records/well-formed.js";
import { PayloadParseError, parseByContent } from "../../src/webhook/body.js";
import { type RawWebhook, webhookToEnvelopes } from "../../src/webhook/payload.js";

const receivedAt = new Date("2026-11-27T08:00:00.000Z");
const input = (s: string, at = receivedAt): RawWebhook => ({
  raw: Buffer.from(s),
  contentType: undefined,
  receivedAt: at,
});

/** The latest version per entity + id, picked the way docs/records.md tells users to: the greatest `version`. */
function latest(envelopes: Envelope[]): Envelope {
  return envelopes.reduce((a, b) => ((b.version ?? "") > (a.version ?? "") ? b : a));
}

describe("every top-level webhook key is kept", () => {
  test("unknown keys (delivery_attempt, webhook_version) land in envelope.webhook beside the known ones", () => {
    const body = {
      response: { id: 5, updated_at: "2024-03-05T10:15:31.004-08:00" },
      event_name: "updated",
      timestamp: "2024-03-05T10:15:33.120-08:00",
      account_token: "NPS-x",
      survey_mode: "NPS",
      delivery_attempt: 3,
      webhook_version: "2",
      nested: { a: [1, { b: null }] },
    };
    const e = webhookToEnvelopes(body, input(""), "json").envelopes[0]!;
    assert.deepEqual(e.webhook, {
      event_name: "updated",
      timestamp: "2024-03-05T10:15:33.120-08:00",
      account_token: "NPS-x",
      survey_mode: "NPS",
      delivery_attempt: 3,
      webhook_version: "2",
      nested: { a: [1, { b: null }] },
    });
    assert.equal(e.event_name, "updated");
    assert.equal(e.format, "json");
  });

  test("a record key that is null stays in webhook (it did not become an envelope)", () => {
    const e = webhookToEnvelopes({ response: { id: 5 }, decline: null }, input(""), "json").envelopes[0]!;
    assert.deepEqual(e.webhook, { decline: null });
  });
});

describe("parse by content", () => {
  const json = '{"response":{"id":1,"origin_url":"https://x/?a=b"},"event_name":"created"}';
  const form = "response[id]=1&event_name=created";

  test("JSON labelled form, and form labelled JSON, parse as what they are and say they were mislabelled", () => {
    assert.deepEqual(parseByContent(Buffer.from(json), "form"), {
      format: "json",
      value: JSON.parse(json),
      mislabelled: true,
    });
    const f = parseByContent(Buffer.from(form), "json");
    assert.equal(f.format, "form");
    assert.equal(f.mislabelled, true);
    assert.equal(parseByContent(Buffer.from(json), "json").mislabelled, false);
    assert.equal(parseByContent(Buffer.from(form), "form").mislabelled, false);
    assert.equal(parseByContent(Buffer.from(form), "sniff").mislabelled, false);
  });

  test("a form body whose values hold many brackets is a form body, not JSON nested too deep", () => {
    const f = parseByContent(Buffer.from(`response[id]=7&x=${"[".repeat(70)}`), "form");
    assert.equal(f.format, "form");
    assert.equal((f.value as { x: string }).x, "[".repeat(70));
    assert.throws(() => parseByContent(Buffer.from(`${"[".repeat(70)}${"]".repeat(70)}`), "json"), /nests deeper/);
  });

  test("neither format: PayloadParseError with the declared format's reason", () => {
    assert.throws(() => parseByContent(Buffer.from("just text"), "json"), /not valid JSON/);
    assert.throws(() => parseByContent(Buffer.from("just text"), "form"), /not form-urlencoded/);
    assert.throws(() => parseByContent(Buffer.from("{broken"), "sniff"), PayloadParseError);
  });
});

describe("one version, one shape", () => {
  test("form blanks are null for nullable text and timestamps, custom property strings stay strings", () => {
    const form =
      "response[id]=9&response[text]=&response[email]=&response[ip_address]=&response[created_at]=" +
      "&response[updated_at]=2024-03-05%2010%3A15%3A40%20-0800&response[end_user_properties][seats]=5000" +
      "&response[end_user_properties][beta]=true&response[end_user_properties][note]=&event_name=created";
    const e = webhookToEnvelopes(parseByContent(Buffer.from(form), "form").value, input(form), "form").envelopes[0]!;
    assert.equal(e.data.text, null);
    assert.equal(e.data.email, null);
    assert.equal(e.data.ip_address, null);
    assert.equal(e.data.created_at, null);
    assert.deepEqual(e.data.end_user_properties, { seats: "5000", beta: "true", note: "" });
  });

  test('a JSON body keeps an empty string: JSON can say null, so "" was meant', () => {
    const e = webhookToEnvelopes({ response: { id: 9, text: "" } }, input(""), "json").envelopes[0]!;
    assert.equal(e.data.text, "");
  });
});

describe("lossless coercion instead of dead letters", () => {
  test("number → string for text fields, one string → one-element list for tags", () => {
    const e = makeEnvelope(
      "response",
      { id: 1, external_id: 12345, email: "a@b", tags: "SUPPORT", text: 7.5 },
      { source: "poll" },
    );
    assert.equal(e.data.external_id, "12345");
    assert.equal(e.data.text, "7.5");
    assert.deepEqual(e.data.tags, ["SUPPORT"]);
    const u = makeEnvelope("end_user", { id: 2, external_id: 99, phone_number: 14155554131 }, { source: "poll" });
    assert.equal(u.data.external_id, "99");
    assert.equal(u.data.phone_number, "14155554131");
  });

  test("what cannot be coerced losslessly still fails validation (a dead letter at the caller)", () => {
    assert.throws(() => makeEnvelope("response", { id: 1, external_id: { a: 1 } }, { source: "poll" }), /external_id/);
    assert.throws(() => makeEnvelope("response", { id: 1, tags: 5 }, { source: "poll" }), /tags/);
    assert.throws(() => makeEnvelope("response", { id: 1, score: "0x1F" }, { source: "poll" }), /score/);
    assert.throws(() => makeEnvelope("response", { id: 1, external_id: true }, { source: "poll" }), /external_id/);
  });

  test("legacy and wrapper fields are typed: user_id, page_views_count, default_survey_template_id", () => {
    const u = makeEnvelope("end_user", { id: 2, user_id: "17", page_views_count: "41" }, { source: "poll" });
    assert.equal(u.data.user_id, 17);
    assert.equal(u.data.page_views_count, 41);
    const decl = STREAMS.survey_templates;
    assert.equal(decl.kind, "snapshot");
    if (decl.kind !== "snapshot") return;
    const list = decl.extract({ default_survey_template_id: 7, survey_templates: [{ id: 7, name: "A" }, { id: 8 }] });
    assert.deepEqual(list, [
      { default_survey_template_id: 7, id: 7, name: "A" },
      { default_survey_template_id: 7, id: 8 },
    ]);
    const t = makeEnvelope("survey_template", list[1], { source: "poll" });
    assert.equal(t.data.default_survey_template_id, 7);
  });
});

describe("lone surrogates", () => {
  test("become U+FFFD in data, keys, webhook keys and ids; pairs are untouched", () => {
    const e = webhookToEnvelopes(
      {
        response: { id: 1, text: "cut \ud83d here, whole \ud83d\ude00", end_user_properties: { "k\udc00": "v" } },
        event_name: "created\ud800",
        extra: ["\udfff"],
      },
      input(""),
      "json",
    ).envelopes[0]!;
    assert.equal(e.data.text, "cut \ufffd here, whole \ud83d\ude00");
    assert.deepEqual(e.data.end_user_properties, { "k\ufffd": "v" });
    assert.equal(e.event_name, "created\ufffd");
    assert.deepEqual(e.webhook?.extra, ["\ufffd"]);
    const line = serializeEnvelope(e);
    assert.doesNotMatch(line, /\\ud[89a-f]/i);
    assert.ok(Buffer.from(line, "utf8").toString("utf8") === line);
    const seg = makeEnvelope("segment", { name: "plan\ud83d" }, { source: "poll" });
    assert.equal(seg.id, "plan\ufffd");
  });

  test("an own __proto__ key survives the walk as a key", () => {
    const v = JSON.parse('{"__proto__": {"x": "\\ud83d"}, "a": 1}') as Record<string, unknown>;
    const fixed = wellFormedDeep(v);
    assert.ok(Object.hasOwn(fixed, "__proto__"));
    assert.deepEqual(Object.getOwnPropertyDescriptor(fixed, "__proto__")?.value, { x: "\ufffd" });
    assert.equal(Object.getPrototypeOf(fixed), Object.prototype);
  });
});

describe("the order of versions is explicit", () => {
  const at = (iso: string) => new Date(iso);

  test("two JSON versions in the same second: milliseconds decide, whatever the arrival order", () => {
    const newer = webhookToEnvelopes(
      { response: { id: 1, score: 9, updated_at: "2024-03-05T10:15:31.900-08:00" } },
      input("", at("2026-01-01T00:00:01Z")),
      "json",
    ).envelopes[0]!;
    const older = webhookToEnvelopes(
      { response: { id: 1, score: 3, updated_at: "2024-03-05T10:15:31.004-08:00" } },
      input("", at("2026-01-01T00:00:09Z")), // a retry: arrives last
      "json",
    ).envelopes[0]!;
    assert.equal(newer.dedup_key, older.dedup_key, "same second, same dedup_key by design");
    assert.equal(latest([newer, older]).data.score, 9);
    assert.equal(latest([older, newer]).data.score, 9);
  });

  test("the API's whole second counts as the end of that second: a poll after a webhook in that second wins", () => {
    const hook = webhookToEnvelopes(
      { response: { id: 1, score: 3, updated_at: "2024-03-05T10:15:31.558-08:00" } },
      input("", at("2024-03-05T18:15:32Z")),
      "json",
    ).envelopes[0]!;
    const api = makeEnvelope(
      "response",
      { id: 1, score: 3, tags: ["X"], updated_at: "2024-03-05 10:15:31 -0800" },
      { source: "poll", receivedAt: at("2024-03-05T18:20:00Z") },
    );
    assert.equal(api.format, "api");
    assert.equal(api.updated_at, "2024-03-05T18:15:31.000Z", "the envelope keeps the value as sent");
    assert.equal(api.version, "2024-03-05T18:15:31.999Z|2024-03-05T18:20:00.000Z|3");
    assert.equal(latest([hook, api]), api);
    // A later second beats everything in an earlier one.
    const next = webhookToEnvelopes(
      { response: { id: 1, score: 10, updated_at: "2024-03-05T10:15:32.001-08:00" } },
      input("", at("2024-03-05T18:15:33Z")),
      "json",
    ).envelopes[0]!;
    assert.equal(latest([api, next, hook]), next);
  });

  test("same updated_at and received_at: api before json before form", () => {
    const r = "2026-01-01T00:00:00.000Z";
    assert.ok(versionKey("2024-03-05 10:15:31 -0800", r, "api") > versionKey("2024-03-05 10:15:31 -0800", r, "json"));
    assert.ok(versionKey("2024-03-05 10:15:31 -0800", r, "json") > versionKey("2024-03-05 10:15:31 -0800", r, "form"));
    // Records without updated_at (segments, nps_summary) are ordered by received_at.
    assert.ok(versionKey(undefined, "2026-01-02T00:00:00.000Z", "api") > versionKey(undefined, r, "api"));
    assert.ok(
      versionKey(undefined, "2099-01-01T00:00:00.000Z", "api") < versionKey("1971-01-01 00:00:00 +0000", r, "form"),
    );
  });
});
