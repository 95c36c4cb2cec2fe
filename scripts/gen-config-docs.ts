/**
 * Writes docs/configuration.md from the settings table in src/config/variables.ts.
 * `npm run gen:docs` after changing a variable; `--check` exits 1 when the file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configReferenceMarkdown } from "../src/config/reference.js";

const target = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));
const want = configReferenceMarkdown();

if (process.argv.includes("--check")) {
  let have = "";
  try {
    have = readFileSync(target, "utf8");
  } catch {
    /* missing counts as stale */
  }
  if (have !== want) {
    console.error(`${target} is out of date with src/config/variables.ts: run npm run gen:docs`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, want);
  console.log(`wrote ${target}`);
}
