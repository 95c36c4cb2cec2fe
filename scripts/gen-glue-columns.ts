/**
 * Writes terraform/glue-columns.json (the Glue table columns), terraform/athena-views.json (the current-state view
 * columns) and terraform/sql/views/*.sql (the current-state views) from the zod record schemas.
 * `npm run gen:glue` after changing src/records/; `--check` exits 1 when a file is stale.
 */
import { fileURLToPath } from "node:url";
import { athenaViewsJson, CURRENT_VIEW_TABLES, currentViewName, currentViewSql } from "../src/records/athena-views.js";
import { glueColumnsJson } from "../src/records/glue-columns.js";
import { writeOrCheck } from "./_generated-files.js";

const file = (rel: string) => fileURLToPath(new URL(`../terraform/${rel}`, import.meta.url));
const wanted: [string, string][] = [
  [file("glue-columns.json"), glueColumnsJson()],
  [file("athena-views.json"), athenaViewsJson()],
  ...CURRENT_VIEW_TABLES.map((t): [string, string] => [file(`sql/views/${currentViewName(t)}.sql`), currentViewSql(t)]),
];

writeOrCheck(wanted, "src/records/: run npm run gen:glue");
