import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeTombstone, serializeEnvelope } from "../../src/records/envelope.js";
import { glueTables } from "../../src/records/glue-columns.js";

describe("tombstones", () => {
  const seenAt = new Date("2026-11-28T03:17:42.118Z");

  test("same entity and id, source poll, deleted, one dedup_key per deletion, data with the id and what is known", () => {
    const t = makeTombstone("response", 901234567, { end_user_id: 486438462 }, seenAt);
    assert.deepEqual(JSON.parse(serializeEnvelope(t)), {
      entity: "response",
      id: 901234567,
      source: "poll",
      format: "api",
      dedup_key: "response:901234567:deleted",
      version: "2026-11-28T03:17:42.118Z|2026-11-28T03:17:42.118Z|3",
      received_at: "2026-11-28T03:17:42.118Z",
      created_at: null,
      updated_at: "2026-11-28T03:17:42.118Z",
      deleted: true,
      data: { id: 901234567, end_user_id: 486438462 },
    });
    assert.equal(makeTombstone("segment", "plan", {}, seenAt).dedup_key, "segment:plan:deleted");
  });

  test("every tombstone field has a Glue column, deleted as a boolean", () => {
    const t = makeTombstone("response", 1, { end_user_id: 2 }, seenAt);
    const cols = glueTables().responses!.columns;
    for (const k of Object.keys(t).filter((k) => k !== "entity"))
      assert.ok(
        cols.some((c) => c.name === k),
        `column ${k}`,
      );
    assert.equal(cols.find((c) => c.name === "deleted")!.type, "boolean");
    const data = cols.find((c) => c.name === "data")!.type;
    assert.match(data, /^struct<id:bigint,end_user_id:bigint,/);
  });
});
