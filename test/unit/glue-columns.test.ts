import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { z } from "zod";
import { ENTITIES } from "../../src/records/entities.js";
import { makeDeadLetter, makeEnvelope } from "../../src/records/envelope.js";
import { GLUE_TABLE_NAMES, glueColumnsJson, glueTables, hiveTypeOfZod } from "../../src/records/glue-columns.js";
import { responseSchema } from "../../src/records/schemas.js";
import { TERRAFORM_DIR } from "../helpers/terraform-config.js";

/** Top-level field names of a Hive struct<...> type. */
function structFields(type: string): string[] {
  assert.ok(type.startsWith("struct<") && type.endsWith(">"), type);
  const inner = type.slice("struct<".length, -1);
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c === "<") depth++;
    else if (c === ">") depth--;
    else if ((c === "," && depth === 0) || i === inner.length) {
      names.push(inner.slice(start, i).split(":")[0]!);
      start = i + 1;
    }
  }
  return names;
}

describe("Glue columns derived from the record schemas", () => {
  test("terraform/glue-columns.json is what the schemas generate (run `npm run gen:glue` after a schema change)", async () => {
    const onDisk = await readFile(join(TERRAFORM_DIR, "glue-columns.json"), "utf8");
    assert.equal(onDisk, glueColumnsJson(), "terraform/glue-columns.json is stale: run npm run gen:glue");
  });

  test("one table per entity, dead letters included", () => {
    const tables = glueTables();
    assert.deepEqual(
      Object.values(tables)
        .map((t) => t.entity)
        .sort(),
      [...ENTITIES].sort(),
    );
    for (const e of ENTITIES) assert.equal(tables[GLUE_TABLE_NAMES[e]]?.entity, e);
  });

  test("every field of a real envelope has a column (entity is the partition key)", () => {
    const env = makeEnvelope(
      "response",
      {
        id: 7,
        score: "9",
        completed: "true",
        created_at: 1700000000,
        updated_at: "2024-03-05 10:15:31 -0800",
        tags: ["a"],
      },
      {
        source: "webhook",
        webhook: {
          event_name: "created",
          timestamp: "2024-03-05T10:15:33.120-08:00",
          account_token: "NPS-x",
          survey_mode: "NPS",
        },
      },
    );
    const cols = glueTables().responses!.columns;
    const names = cols.map((c) => c.name);
    for (const key of Object.keys(env).filter((k) => k !== "entity")) assert.ok(names.includes(key), `column ${key}`);
    assert.ok(!names.includes("entity"), "entity is a partition key, not a column");
    const data = cols.find((c) => c.name === "data")!;
    for (const key of Object.keys(env.data)) assert.ok(structFields(data.type).includes(key), `data.${key}`);
    assert.equal(cols.find((c) => c.name === "id")!.type, "bigint");
    assert.equal(glueTables().segments!.columns.find((c) => c.name === "id")!.type, "string");
  });

  test("every field of a dead letter's data has a column", () => {
    const dl = makeDeadLetter({
      reason: "bad",
      raw: Buffer.from([0xff, 0x00]),
      source: "webhook",
      intendedEntity: "response",
      contentType: "application/json",
    });
    const data = glueTables().dead_letters!.columns.find((c) => c.name === "data")!;
    assert.deepEqual(structFields(data.type).sort(), Object.keys(dl.data).sort());
  });

  test("zod → Hive types: ids bigint, scores double, flags boolean, mixed timestamps string, free-form maps", () => {
    const type = glueTables().responses!.columns.find((c) => c.name === "data")!.type;
    assert.match(
      type,
      /^struct<id:bigint,end_user_id:bigint,survey_id:bigint,score:double,text:string,completed:boolean,/,
    );
    assert.match(type, /created_at:string/);
    assert.match(type, /tags:array<string>/);
    assert.match(type, /end_user:struct<properties:map<string,string>,email:string>/);
    assert.match(type, /end_user_properties:map<string,string>/);
  });

  test("a schema change changes the columns (so the stale-file check above can fail)", () => {
    const extended = responseSchema.extend({
      nps_channel: z.string().nullable().optional(),
      weight: z.number().int().optional(),
    });
    assert.notEqual(hiveTypeOfZod(extended), hiveTypeOfZod(responseSchema));
    assert.match(hiveTypeOfZod(extended), /,nps_channel:string,weight:bigint>$/);
  });
});

describe("current-state views generated from the same schemas", () => {
  test("terraform/athena-views.json and terraform/sql/views/*.sql are what src/records/athena-views.ts generates", async () => {
    const { athenaViewsJson, CURRENT_VIEW_TABLES, currentViewName, currentViewSql } = await import(
      "../../src/records/athena-views.js"
    );
    assert.equal(
      await readFile(join(TERRAFORM_DIR, "athena-views.json"), "utf8"),
      athenaViewsJson(),
      "run npm run gen:glue",
    );
    for (const t of CURRENT_VIEW_TABLES) {
      const file = join(TERRAFORM_DIR, "sql", "views", `${currentViewName(t)}.sql`);
      assert.equal(await readFile(file, "utf8"), currentViewSql(t), `${file} is stale: run npm run gen:glue`);
    }
  });

  test("Hive → Trino types for the Presto view definition", async () => {
    const { prestoType } = await import("../../src/records/athena-views.js");
    assert.equal(prestoType("string"), "varchar");
    assert.equal(prestoType("array<struct<code:string,name:string>>"), 'array(row("code" varchar, "name" varchar))');
    assert.equal(
      prestoType("struct<end_user:struct<properties:map<string,string>>>"),
      'row("end_user" row("properties" map(varchar, varchar)))',
    );
  });

  test("every struct field name is lower case, so case.insensitive = false in the SerDe loses no field", () => {
    const fieldNames = (type: string): string[] => [...type.matchAll(/[<,]([A-Za-z0-9_]+):/g)].map((m) => m[1]!);
    for (const [table, def] of Object.entries(glueTables())) {
      for (const c of def.columns) {
        assert.equal(c.name, c.name.toLowerCase(), `${table}.${c.name}`);
        for (const f of fieldNames(c.type)) assert.equal(f, f.toLowerCase(), `${table}.${c.name}.${f}`);
      }
    }
  });

  test("survey template languages are objects {code, name}, not strings", () => {
    const data = glueTables().survey_templates!.columns.find((c) => c.name === "data")!.type;
    assert.ok(data.includes("languages:array<struct<code:string,name:string>>"), data);
  });

  test("every table has the optional deleted flag of tombstones", () => {
    for (const def of Object.values(glueTables()))
      assert.equal(def.columns.find((c) => c.name === "deleted")?.type, "boolean");
  });
});
