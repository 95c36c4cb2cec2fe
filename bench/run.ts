/**
 * `npm run bench -- <name>` runs bench/<name>.ts (webhook, firehose, poller, ...). Each benchmark module exports
 * `run(args: string[]): Promise<void>` and prints its own report. Adding a benchmark is adding a file.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !["run.ts"].includes(f) && !f.startsWith("_") && !f.endsWith(".d.ts"))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join("|")}> [args]\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.js`)) as { run?: (args: string[]) => Promise<void> };
if (typeof mod.run !== "function") {
  process.stderr.write(`bench/${name}.ts does not export run(args)\n`);
  process.exit(2);
}
await mod.run(args);
