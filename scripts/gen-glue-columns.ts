/**
 * Writes terraform/glue-columns.json (the Glue table columns), terraform/athena-views.json (the current-state view
 * columns) and
 * terraform/sql/views/*.sql (the current-state views) from the zod record schemas.
 * `npm run gen:glue` after changing src/records/; `--check` exits 1 when a file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { athenaViewsJson, CURRENT_VIEW_TABLES, currentViewName, currentViewSql } from "../src/records/athena-views.js";
import { glueColumnsJson } from "../src/records/glue-columns.js";

const file = (rel: string) => fileURLToPath(new URL(`../terraform/${rel}`, import.meta.url));
const wanted: [string, string][] = [
  [file("glue-columns.json"), glueColumnsJson()],
  [file("athena-views.json"), athenaViewsJson()],
  ...CURRENT_VIEW_TABLES.map((t): [string, string] => [file(`sql/views/${currentViewName(t)}.sql`), currentViewSql(t)]),
];

let stale = 0;
for (const [target, want] of wanted) {
  if (process.argv.includes("--check")) {
    let have = "";
    try {
      have = readFileSync(target, "utf8");
    } catch {
      /* missing counts as stale */
    }
    if (have !== want) {
      console.error(`${target} is out of date with src/records/: run npm run gen:glue`);
      stale++;
    }
  } else {
    writeFileSync(target, want);
    console.log(`wrote ${target}`);
  }
}
if (stale > 0) process.exit(1);
