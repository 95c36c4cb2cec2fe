import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { signBody, verifySignature } from "../../src/webhook/signature.js";

const body = Buffer.from('{"response":{"id":1,"text":"Très bien \\u00e9"},"event_name":"created"}\r\n', "utf8");
const hex = (secret: string, b: Buffer = body) => createHmac("sha1", secret).update(b).digest("hex");

describe("webhook signature", () => {
  test("accepts sha1=<hex HMAC-SHA1(secret, raw body)>", () => {
    assert.deepEqual(verifySignature(body, `sha1=${hex("s3cret")}`, ["s3cret"]), { ok: true, secretIndex: 0 });
    assert.equal(signBody("s3cret", body), `sha1=${hex("s3cret")}`);
  });

  test("rejects a wrong secret, a tampered body and a digest of re-serialised JSON", () => {
    assert.deepEqual(verifySignature(body, `sha1=${hex("other")}`, ["s3cret"]), { ok: false, reason: "mismatch" });
    const tampered = Buffer.from(body.toString().replace('"id":1', '"id":2'));
    assert.equal(verifySignature(tampered, `sha1=${hex("s3cret")}`, ["s3cret"]).ok, false);
    // Signing the parsed-and-re-serialised JSON is not the same as signing the raw bytes.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
    assert.equal(verifySignature(body, `sha1=${hex("s3cret", reserialised)}`, ["s3cret"]).ok, false);
  });

  test("several secrets are accepted during a rotation, and none when none is configured", () => {
    assert.deepEqual(verifySignature(body, `sha1=${hex("new")}`, ["old", "new"]), { ok: true, secretIndex: 1 });
    assert.deepEqual(verifySignature(body, `sha1=${hex("old")}`, ["old", "new"]), { ok: true, secretIndex: 0 });
    assert.equal(verifySignature(body, `sha1=${hex("older")}`, ["old", "new"]).ok, false);
    assert.equal(verifySignature(body, `sha1=${hex("old")}`, []).ok, false);
  });

  test("missing header", () => {
    assert.deepEqual(verifySignature(body, undefined, ["s"]), { ok: false, reason: "missing" });
    assert.deepEqual(verifySignature(body, "   ", ["s"]), { ok: false, reason: "missing" });
  });

  test("tolerates surrounding whitespace, uppercase hex, prefix case and a missing prefix", () => {
    const h = hex("s");
    for (const header of [` sha1=${h} `, `sha1=${h.toUpperCase()}`, `SHA1=${h}`, `sha1 = ${h}`, h, `\tsha1=${h}\t`]) {
      assert.equal(verifySignature(body, header, ["s"]).ok, true, JSON.stringify(header));
    }
  });

  test("malformed values are rejected without throwing (wrong length, other algorithm, base64, several values)", () => {
    const h = hex("s");
    for (const header of [
      `sha1=${h.slice(0, 39)}`,
      `sha1=${h}00`,
      `sha256=${h}`,
      `sha1=${Buffer.from(h, "hex").toString("base64")}`,
      `sha1=${h}, sha1=${h}`,
      `sha1=${h.slice(0, 38)}zz`,
    ]) {
      assert.deepEqual(verifySignature(body, header, ["s"]), { ok: false, reason: "malformed" }, header);
    }
    assert.deepEqual(verifySignature(body, [`sha1=${h}`, `sha1=${h}`], ["s"]), { ok: false, reason: "missing" });
  });

  test("the signature covers raw bytes: form bodies and non-UTF-8 bytes verify as sent", () => {
    const form = Buffer.from(
      "response[id]=1128&response[text]=&event_name=created&timestamp=2024-03-05%2010%3A15%3A07%20-0800",
    );
    assert.equal(verifySignature(form, `sha1=${hex("s", form)}`, ["s"]).ok, true);
    const latin1 = Buffer.from([0x74, 0xe9, 0x73, 0x74]);
    assert.equal(verifySignature(latin1, `sha1=${hex("s", latin1)}`, ["s"]).ok, true);
  });
});
