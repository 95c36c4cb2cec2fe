import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { z } from "zod";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config/index.js";
import { configReferenceMarkdown, configTableProblems } from "../../src/config/reference.js";

const committed = () => readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");

describe("configuration reference generated from the table in src/config/variables.ts", () => {
  test("docs/configuration.md is what the table generates (run `npm run gen:docs` after changing a variable)", () => {
    assert.equal(committed(), configReferenceMarkdown(), "docs/configuration.md is stale: run npm run gen:docs");
  });

  test("every variable has a meaning, a group, a default or what unset means, and its accepted values", () => {
    assert.deepEqual(configTableProblems(), []);
  });

  test("the check fails for a variable without a description", () => {
    const table = {
      ...CONFIG_VARIABLES,
      NEW_SETTING: { group: "http", schema: z.string().optional(), meaning: "" },
    } as const;
    assert.deepEqual(configTableProblems(table), [
      'NEW_SETTING: meaning must be a sentence ending in "."',
      "NEW_SETTING: no default value, so say what happens when it is unset",
      "NEW_SETTING: say what values are accepted",
    ]);
  });

  test("every variable has its own row, with the default the code applies", () => {
    const doc = committed();
    for (const name of Object.keys(CONFIG_VARIABLES))
      assert.match(doc, new RegExp(`^\\| \`${name}\` \\|`, "m"), `${name} has a row`);
    assert.match(doc, /^\| `PORT` \| `8080` \|/m);
    assert.equal(loadConfig({}).http.port, 8080);
    assert.match(doc, /^\| `POLL_CRON` \| `\*\/15 \* \* \* \*` \|/m);
    assert.equal(loadConfig({}).poll.cron, "*/15 * * * *");
    assert.match(doc, /^\| `SPOOL_MAX_BYTES` \| `1073741824` \(1 GiB\) \|/m);
  });
});
