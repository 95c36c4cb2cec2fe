/**
 * `npm run bench -- <name>` runs bench/<name>.ts (webhook, firehose, poller, ...). Each benchmark module exports
 * `run(args: string[]): Promise<void>`, which prints its own report, and `usage`, its help text: `--help` prints it,
 * and a flag it does not mention is refused instead of being ignored by a run that can take minutes.
 * Adding a benchmark is adding a file.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !["run.ts"].includes(f) && !f.startsWith("_") && !f.endsWith(".d.ts"))
  .map((f) => f.slice(0, -3))
  .sort();

const listing = `usage: npm run bench -- <${available.join("|")}> [flags]; npm run bench -- <name> --help shows a benchmark's flags`;
const isHelp = (a: string | undefined) => a === "--help" || a === "-h";

const [name, ...args] = process.argv.slice(2);
if (isHelp(name)) {
  process.stdout.write(`${listing}\n`);
  process.exit(0);
}
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !available.includes(name)) {
  process.stderr.write(`${listing}\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.js`)) as { run?: (args: string[]) => Promise<void>; usage?: string };
if (typeof mod.run !== "function" || typeof mod.usage !== "string") {
  process.stderr.write(`bench/${name}.ts must export run(args) and usage\n`);
  process.exit(2);
}
if (args.some(isHelp)) {
  process.stdout.write(`${mod.usage}\n`);
  process.exit(0);
}
const known = new Set(mod.usage.match(/--[a-z][a-z0-9-]*/g));
const unknown = args.filter((a) => a.startsWith("-") && !known.has(a));
if (unknown.length > 0) {
  process.stderr.write(
    `bench ${name}: unknown option ${unknown.join(", ")}; npm run bench -- ${name} --help lists the flags\n`,
  );
  process.exit(2);
}
await mod.run(args);
