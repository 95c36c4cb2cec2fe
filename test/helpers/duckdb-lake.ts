import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { glueTables } from "../../src/records/glue-columns.js";
import { TERRAFORM_DIR } from "./terraform-config.js";

/** Hive type (as in terraform/glue-columns.json) → DuckDB type, so DuckDB reads the JSON lines as Athena would. */
export function duckType(hive: string): string {
  const t = hive.trim();
  const simple: Record<string, string> = {
    string: "VARCHAR",
    bigint: "BIGINT",
    int: "INTEGER",
    double: "DOUBLE",
    boolean: "BOOLEAN",
  };
  if (simple[t]) return simple[t];
  const split = (s: string) => {
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === "<") depth++;
      else if (s[i] === ">") depth--;
      else if (s[i] === "," && depth === 0) {
        parts.push(s.slice(start, i));
        start = i + 1;
      }
    }
    parts.push(s.slice(start));
    return parts;
  };
  if (t.startsWith("array<")) return `${duckType(t.slice(6, -1))}[]`;
  if (t.startsWith("map<")) {
    const [k, v] = split(t.slice(4, -1));
    return `MAP(${duckType(k!)}, ${duckType(v!)})`;
  }
  if (t.startsWith("struct<")) {
    const fields = split(t.slice(7, -1)).map((f) => {
      const i = f.indexOf(":");
      return `"${f.slice(0, i)}" ${duckType(f.slice(i + 1))}`;
    });
    return `STRUCT(${fields.join(", ")})`;
  }
  throw new Error(`no DuckDB type for ${hive}`);
}

/**
 * The few Trino functions the SQL uses that DuckDB names differently, as DuckDB macros with Trino's meaning:
 * from_iso8601_timestamp parses an ISO-8601 string with its offset into an instant; at_timezone gives the wall-clock
 * time of an instant in a zone (Trino keeps the zone in the value, DuckDB returns the local time: date_trunc and
 * CAST(... AS date) then agree).
 */
const TRINO_SHIMS = [
  "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
  "CREATE MACRO at_timezone(ts, zone) AS timezone(zone, ts)",
];

export interface Lake {
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): void;
}

/**
 * An in-memory DuckDB with one table per Glue table over the landed `entity=<entity>/dt=<date>/*.json.gz` files under
 * dataDir (the file sink's layout, which is the S3 layout), typed with the Glue columns, plus the current-state views
 * created from terraform/sql/views/*.sql, the same files Terraform reads.
 */
export async function openLake(dataDir: string): Promise<Lake> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  const run = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  await run("SET TimeZone = 'UTC'");
  for (const shim of TRINO_SHIMS) await run(shim);
  for (const [table, def] of Object.entries(glueTables())) {
    const cols = def.columns.map((c) => `"${c.name}" ${duckType(c.type)}`);
    let hasFiles = false;
    try {
      for (const dt of await readdir(join(dataDir, `entity=${def.entity}`)))
        if ((await readdir(join(dataDir, `entity=${def.entity}`, dt))).some((f) => f.endsWith(".json.gz")))
          hasFiles = true;
    } catch {
      /* no partition directory: an empty table */
    }
    if (hasFiles) {
      const columns = def.columns.map((c) => `'${c.name}': '${duckType(c.type).replaceAll("'", "''")}'`).join(", ");
      const glob = join(dataDir, `entity=${def.entity}`, "dt=*", "*.json.gz").replaceAll("'", "''");
      await run(
        `CREATE TABLE ${table} AS SELECT * EXCLUDE (entity) FROM read_json('${glob}', format = 'newline_delimited', hive_partitioning = true, columns = {${columns}})`,
      );
    } else {
      await run(`CREATE TABLE ${table} (${cols.join(", ")}, dt VARCHAR)`);
    }
  }
  const viewsDir = join(TERRAFORM_DIR, "sql", "views");
  for (const file of (await readdir(viewsDir)).sort()) {
    const sql = await readFile(join(viewsDir, file), "utf8");
    await run(`CREATE VIEW ${file.replace(/\.sql$/, "")} AS ${sql}`);
  }
  return { query: run, close: () => conn.closeSync() };
}
