/**
 * Writes docs/configuration.md from the settings table in src/config/variables.ts.
 * `npm run gen:docs` after changing a variable; `--check` exits 1 when the file is stale.
 */
import { fileURLToPath } from "node:url";
import { configReferenceMarkdown } from "../src/config/reference.js";
import { writeOrCheck } from "./_generated-files.js";

const target = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));

writeOrCheck([[target, configReferenceMarkdown()]], "src/config/variables.ts: run npm run gen:docs");
