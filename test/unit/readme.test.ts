import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), "utf8");

test("README's configuration table lists every environment variable in src/config.ts", () => {
  const config = read("src/config.ts");
  const start = config.indexOf("const envSchema = z.object({");
  const end = config.indexOf("\n});", start);
  assert.ok(start >= 0 && end > start, "envSchema found in src/config.ts");
  const vars = [...config.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
  assert.ok(vars.length >= 20, `found ${vars.length} variables`);
  const readme = read("README.md");
  const missing = vars.filter((v) => !new RegExp(`^\\| \`${v}\` \\|`, "m").test(readme));
  assert.deepEqual(missing, [], "add these to the Configuration table in README.md");
});

test("README keeps the two set-up commands and the CLI contract", () => {
  const readme = read("README.md");
  assert.match(readme, /npm install && npm start/);
  assert.match(readme, /^npm test/m);
  for (const cmd of ["serve", "sync --once", "backfill --since", "doctor"])
    assert.ok(readme.includes(`wootric-firehose ${cmd}`), cmd);
});
