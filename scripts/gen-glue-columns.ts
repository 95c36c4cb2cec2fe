/**
 * Writes terraform/glue-columns.json (the Glue table columns) from the zod record schemas.
 * `npm run gen:glue` after changing src/records/schemas.ts; `--check` exits 1 when the file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { glueColumnsJson } from "../src/records/glue-columns.js";

const target = fileURLToPath(new URL("../terraform/glue-columns.json", import.meta.url));
const want = glueColumnsJson();

if (process.argv.includes("--check")) {
  let have = "";
  try {
    have = readFileSync(target, "utf8");
  } catch {
    /* missing counts as stale */
  }
  if (have !== want) {
    console.error(`${target} is out of date with src/records/schemas.ts: run npm run gen:glue`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, want);
  console.log(`wrote ${target}`);
}
