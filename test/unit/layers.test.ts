import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The layers of src/, read from the import statements: sources (webhook, poller) → records → sink, with shared
 * helpers below everything and the commands on top. Each entry lists what a layer may import besides itself.
 * Top-level files (log.ts, cli.ts) are layers of their own, named without the extension.
 */
const FOUNDATION = ["common", "config", "log", "ops", "aws"];
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  log: ["common"],
  config: ["common"],
  aws: ["common", "config"],
  ops: ["common", "log"],
  records: ["common"],
  state: [...FOUNDATION],
  wootric: [...FOUNDATION],
  sink: [...FOUNDATION, "records"],
  webhook: [...FOUNDATION, "records", "sink"],
  poller: [...FOUNDATION, "records", "sink", "state", "wootric"],
  replay: [...FOUNDATION, "records", "sink", "state", "webhook"],
  commands: [...FOUNDATION, "records", "sink", "state", "wootric", "webhook", "poller", "replay"],
  cli: [...FOUNDATION, "commands"],
};

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function layerOf(file: string): string {
  const [first] = relative(SRC, file).split("/");
  return first!.replace(/\.ts$/, "");
}

/** Every relative import and re-export, static or dynamic, as [importing file, imported file]. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms),
    ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s).replace(/\.js$/, ".ts"));
}

const files = sourceFiles(SRC);

describe("layers: nothing in src/ imports upward", () => {
  test("every folder and top-level file of src/ has a place in the layer table", () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !(l in ALLOWED));
    assert.deepEqual(unknown, [], "add new folders to ALLOWED in test/unit/layers.test.ts");
  });

  test("the import scanner sees imports (so the rule below cannot pass vacuously)", () => {
    const serve = files.find((f) => f.endsWith(join("commands", "serve.ts")))!;
    assert.ok(importsOf(serve).some((f) => layerOf(f) === "webhook"));
  });

  test("each layer imports only the layers below it", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from]?.includes(to)) {
          violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} → ${to})`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  test("src/common imports nothing of ours, only Node and packages", () => {
    const common = files.filter((f) => layerOf(f) === "common");
    assert.ok(common.length >= 5);
    for (const f of common) {
      const outside = importsOf(f).filter((t) => layerOf(t) !== "common");
      assert.deepEqual(outside, [], relative(SRC, f));
    }
  });
});
