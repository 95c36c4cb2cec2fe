import { readFileSync, writeFileSync } from "node:fs";

/**
 * Writes generated files, or with `--check` on the command line only compares them and exits 1 when one is stale
 * (`hint` says what to run). Shared by the gen:* scripts.
 */
export function writeOrCheck(files: readonly (readonly [path: string, content: string])[], hint: string): void {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [target, want] of files) {
    if (!check) {
      writeFileSync(target, want);
      console.log(`wrote ${target}`);
      continue;
    }
    let have = "";
    try {
      have = readFileSync(target, "utf8");
    } catch {
      /* missing counts as stale */
    }
    if (have === want) console.log(`${target} is up to date`);
    else {
      console.error(`${target} is out of date with ${hint}`);
      stale++;
    }
  }
  if (stale > 0) process.exit(1);
}
