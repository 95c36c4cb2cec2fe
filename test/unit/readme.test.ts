import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CONFIG_VARIABLES } from "../../src/config/index.js";

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), "utf8");

test("README keeps the two set-up commands and the CLI contract", () => {
  const readme = read("README.md");
  assert.match(readme, /npm install && npm start/);
  assert.match(readme, /^npm test/m);
  for (const cmd of ["serve", "sync --once", "backfill --since", "doctor"])
    assert.ok(readme.includes(`wootric-firehose ${cmd}`), cmd);
});

test("configuration is documented once, in the generated docs/configuration.md", () => {
  const readme = read("README.md");
  assert.match(readme, /\]\(docs\/configuration\.md\)/, "README links to the configuration reference");
  const rows = Object.keys(CONFIG_VARIABLES).filter((v) => new RegExp(`^\\| \`${v}\` \\|`, "m").test(readme));
  assert.deepEqual(rows, [], "README must not repeat the configuration table: it lives in docs/configuration.md");
});
