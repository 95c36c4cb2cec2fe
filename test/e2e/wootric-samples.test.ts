import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Envelope } from "../../src/records/envelope.js";
import { startServe } from "../helpers/cli.js";
import { readClosedRecords } from "../helpers/data-files.js";
import { postWebhook } from "../helpers/webhook.js";

const SAMPLES = fileURLToPath(new URL("../fixtures/wootric-docs/", import.meta.url));
const sample = (name: string) => readFile(join(SAMPLES, name), "utf8");
/** The docs lay the form samples out one pair per line; the line breaks are layout, not body. */
const formSample = async (name: string) => (await sample(name)).replace(/\n/g, "");

const JSON_TYPE = "application/json";
const FORM_TYPE = "application/x-www-form-urlencoded";
const SECRET = "09dfb1b73af998743fb011f8bfda8912"; // the docs' sample secret

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Posts each body to a real `serve`, stops it (closing the files) and returns what landed, in posting order. */
async function land(
  bodies: { body: string; contentType: string }[],
): Promise<{ envelopes: Envelope[]; metrics: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "wf-samples-"));
  dirs.push(dataDir);
  const cli = await startServe({ DATA_DIR: dataDir, WOOTRIC_WEBHOOK_SECRET: SECRET });
  let metrics = "";
  try {
    for (const b of bodies) {
      const res = await postWebhook(cli.baseUrl, b.body, { secret: SECRET, contentType: b.contentType });
      assert.equal(res.status, 200, res.body);
    }
    metrics = await (await fetch(`${cli.baseUrl}/metrics`)).text();
  } finally {
    assert.equal(await cli.stop("SIGTERM"), 0);
  }
  const envelopes = (await readClosedRecords(dataDir)).map((r) => r.envelope);
  return { envelopes, metrics };
}

const WRAPPER = { event_name: "created", account_token: "NPS-xxxxxxxx", survey_mode: "NPS" };

describe("Wootric's documented webhook samples through the real server", () => {
  test("JSON and form samples land field by field; unknown keys kept; mislabelled bodies stored as their records", async () => {
    const jsonResponse = await sample("response-created.json");
    const jsonDeclineVerbatim = await sample("decline-created.json");
    const jsonDecline = jsonDeclineVerbatim.replace(
      '"2016-08-04T13:58:21.122-07:00",\n  },',
      '"2016-08-04T13:58:21.122-07:00"\n  },',
    );
    assert.notEqual(jsonDecline, jsonDeclineVerbatim, "the docs' trailing comma is still there to fix");
    const formResponse = await formSample("response-created.form.txt");
    const formDecline = await formSample("decline-created.form.txt");
    const withUnknown = JSON.stringify({ ...JSON.parse(jsonResponse), delivery_attempt: 2, webhook_version: "v2" });

    const { envelopes, metrics } = await land([
      { body: jsonResponse, contentType: JSON_TYPE },
      { body: jsonDecline, contentType: JSON_TYPE },
      { body: jsonDeclineVerbatim, contentType: JSON_TYPE },
      { body: formResponse, contentType: FORM_TYPE },
      { body: formDecline, contentType: FORM_TYPE },
      { body: withUnknown, contentType: FORM_TYPE }, // JSON labelled as form
      { body: formDecline, contentType: JSON_TYPE }, // form labelled as JSON
    ]);

    const responses = envelopes.filter((e) => e.entity === "response");
    const declines = envelopes.filter((e) => e.entity === "decline");
    const dead = envelopes.filter((e) => e.entity === "dead_letter");
    assert.equal(responses.length, 3);
    assert.equal(declines.length, 3);
    assert.equal(dead.length, 1, "only the docs' JSON decline with its trailing comma is a dead letter");
    assert.equal(dead[0]!.data.raw, jsonDeclineVerbatim);
    assert.match(String(dead[0]!.data.reason), /not valid JSON/);

    const [jsonResp, formResp, mislabelledJson] = [
      responses.find((e) => e.format === "json" && e.webhook?.delivery_attempt === undefined)!,
      responses.find((e) => e.format === "form")!,
      responses.find((e) => e.webhook?.delivery_attempt !== undefined)!,
    ];
    assert.ok(jsonResp && formResp && mislabelledJson);

    // JSON response sample, field by field.
    assert.deepEqual(jsonResp.data, {
      id: 1128,
      email: "nps@example.com",
      external_id: "123abc",
      score: 7,
      text: null,
      ip_address: "127.0.0.1",
      origin_url: "https://wootric.com/",
      end_user_id: 30,
      end_user_properties: { pricing_plan: "Enterprise", product_plan: "Web App" },
      survey_id: 1146,
      created_at: "2016-08-04T13:57:26.558-07:00",
      updated_at: "2016-08-04T13:57:26.558-07:00",
      excluded_from_calculations: false,
    });
    assert.equal(jsonResp.id, 1128);
    assert.equal(jsonResp.source, "webhook");
    assert.equal(jsonResp.dedup_key, "response:1128:1470344246");
    assert.equal(jsonResp.created_at, "2016-08-04T20:57:26.558Z");
    assert.equal(jsonResp.updated_at, "2016-08-04T20:57:26.558Z");
    assert.deepEqual(jsonResp.webhook, { ...WRAPPER, timestamp: "2016-08-04T13:57:31.329-07:00" });
    assert.equal(jsonResp.event_name, "created");
    assert.equal(jsonResp.timestamp, "2016-08-04T13:57:31.329-07:00");
    assert.equal(jsonResp.account_token, "NPS-xxxxxxxx");
    assert.equal(jsonResp.survey_mode, "NPS");
    assert.match(jsonResp.version ?? "", /^2016-08-04T20:57:26\.558Z\|.+\|2$/);

    // Form response sample: the same version, the same data except the timestamp dialect (the form has seconds).
    assert.deepEqual(
      { ...formResp.data, created_at: undefined, updated_at: undefined },
      { ...jsonResp.data, created_at: undefined, updated_at: undefined },
    );
    assert.equal(formResp.data.updated_at, "2016-08-04 13:57:26 -0700");
    assert.equal(formResp.updated_at, "2016-08-04T20:57:26.000Z");
    assert.equal(formResp.dedup_key, jsonResp.dedup_key);
    assert.deepEqual(formResp.webhook, { ...WRAPPER, timestamp: "2016-08-04 13:57:31 -0700" });

    // The mislabelled JSON body is the JSON record, unknown top-level keys included.
    assert.equal(mislabelledJson.format, "json");
    assert.deepEqual(mislabelledJson.data, jsonResp.data);
    assert.deepEqual(mislabelledJson.webhook, {
      ...WRAPPER,
      timestamp: "2016-08-04T13:57:31.329-07:00",
      delivery_attempt: 2,
      webhook_version: "v2",
    });

    // Declines: JSON (typo fixed), form, and form labelled as JSON.
    const jsonDec = declines.find((e) => e.format === "json")!;
    assert.deepEqual(jsonDec.data, {
      id: 19,
      email: "nps@example.com",
      external_id: "123abc",
      ip_address: "127.0.0.1",
      origin_url: "https://wootric.com/",
      end_user_id: 31,
      end_user_properties: { pricing_plan: "Pro", product_plan: "Web App" },
      survey_id: 1147,
      created_at: "2016-08-04T13:58:21.122-07:00",
      updated_at: "2016-08-04T13:58:21.122-07:00",
    });
    const formDecs = declines.filter((e) => e.format === "form");
    assert.equal(formDecs.length, 2, "the form decline labelled JSON is stored as a form record");
    for (const d of formDecs) {
      assert.deepEqual(
        { ...d.data, created_at: undefined, updated_at: undefined },
        { ...jsonDec.data, created_at: undefined, updated_at: undefined },
      );
      assert.equal(d.dedup_key, jsonDec.dedup_key);
      assert.deepEqual(d.webhook, { ...WRAPPER, timestamp: "2016-08-04 13:58:23 -0700" });
    }

    assert.match(metrics, /wootric_firehose_webhook_content_type_mismatches_total\{declared="form",parsed="json"\} 1/);
    assert.match(metrics, /wootric_firehose_webhook_content_type_mismatches_total\{declared="json",parsed="form"\} 1/);
  });

  test("JSON and form of one version: equal data except custom property values, which a form sends as strings", async () => {
    const json = JSON.stringify({
      response: {
        id: 77,
        external_id: 4242,
        score: 10,
        text: null,
        tags: "SUPPORT",
        end_user_properties: { seats_amount: 5000, beta: true, plan: "Pro" },
        updated_at: "2024-03-05T10:15:31.004-08:00",
        excluded_from_calculations: false,
      },
      event_name: "updated",
    });
    const form =
      "response[id]=77&response[external_id]=4242&response[score]=10&response[text]=&response[tags]=SUPPORT" +
      "&response[end_user_properties][seats_amount]=5000&response[end_user_properties][beta]=true" +
      "&response[end_user_properties][plan]=Pro&response[updated_at]=2024-03-05%2010%3A15%3A31%20-0800" +
      "&response[excluded_from_calculations]=false&event_name=updated";
    const { envelopes } = await land([
      { body: json, contentType: JSON_TYPE },
      { body: form, contentType: FORM_TYPE },
    ]);
    const viaJson = envelopes.find((e) => e.format === "json")!;
    const viaForm = envelopes.find((e) => e.format === "form")!;
    assert.equal(viaJson.data.external_id, "4242", "number coerced to its text");
    assert.deepEqual(viaJson.data.tags, ["SUPPORT"], "one string is a one-element list");
    assert.deepEqual(viaForm.data.end_user_properties, { seats_amount: "5000", beta: "true", plan: "Pro" });
    assert.deepEqual(
      { ...viaForm.data, end_user_properties: undefined, updated_at: undefined },
      { ...viaJson.data, end_user_properties: undefined, updated_at: undefined },
    );
    assert.equal(viaForm.dedup_key, viaJson.dedup_key);
    // The JSON webhook names the millisecond (.004); the form only the second, which counts as its end (.999).
    assert.ok((viaForm.version ?? "") > (viaJson.version ?? ""));
  });
});
