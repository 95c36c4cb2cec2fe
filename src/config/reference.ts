import { ConfigError } from "./error.js";
import { loadConfig } from "./load.js";
import { CONFIG_GROUPS, CONFIG_VARIABLES, type ConfigVariable } from "./variables.js";

/**
 * docs/configuration.md, rendered from the settings table in variables.ts (names, defaults, accepted values, meanings).
 * `npm run gen:docs` writes it; test/unit/config-reference.test.ts fails when the committed file differs.
 */

const UNITS = [
  [1024 * 1024 * 1024, "GiB"],
  [1024 * 1024, "MiB"],
  [1024, "KiB"],
] as const;

function bytesNote(n: number): string {
  for (const [size, unit] of UNITS) if (n >= size && n % size === 0) return ` (${n / size} ${unit})`;
  return "";
}

/** The default as the schema itself produces it for an unset variable, so the reference cannot drift from the code. */
export function defaultOf(name: string, v: ConfigVariable): string | undefined {
  const parsed = v.schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return undefined;
  const value = parsed.data;
  if (typeof value === "number" && /_BYTES/.test(name)) return `\`${value}\`${bytesNote(value)}`;
  return `\`${String(value)}\``;
}

export function acceptsOf(v: ConfigVariable): string | undefined {
  const meta = v.schema.meta() as { accepts?: unknown } | undefined;
  return v.accepts ?? (typeof meta?.accepts === "string" ? meta.accepts : undefined);
}

/** A real error message, produced by loadConfig, so the example in the reference is what users will see. */
function exampleError(): string {
  try {
    loadConfig({ PORT: "eighty" });
  } catch (err) {
    if (err instanceof ConfigError && err.problems[0]) return err.problems[0];
  }
  throw new Error("loadConfig accepted PORT=eighty");
}

/** What the reference needs from every variable: a one-sentence meaning, a known group, a default, accepted values. */
export function configTableProblems(table: Record<string, ConfigVariable> = CONFIG_VARIABLES): string[] {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(table)) {
    const meaning = v.meaning.trim();
    if (meaning.length < 10 || !/[.!]$/.test(meaning))
      problems.push(`${name}: meaning must be a sentence ending in "."`);
    if (!(v.group in CONFIG_GROUPS)) problems.push(`${name}: unknown group ${v.group}`);
    if (defaultOf(name, v) === undefined && !v.unset?.trim())
      problems.push(`${name}: no default value, so say what happens when it is unset`);
    if (!acceptsOf(v)?.trim()) problems.push(`${name}: say what values are accepted`);
  }
  return problems;
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

export function configReferenceMarkdown(): string {
  const variables = Object.entries(CONFIG_VARIABLES) as [string, ConfigVariable][];
  const out: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated from CONFIG_VARIABLES in src/config/variables.ts by `npm run gen:docs`. Do not edit by hand. -->",
    "",
    "Everything is configured with environment variables, read and validated once at start-up. An empty value counts",
    "as unset. A wrong value stops the process with exit code 2 and a message that names the variable and the fix,",
    `for example \`${exampleError()}\`.`,
    "`wootric-firehose doctor` checks a configuration without serving; it prints it without secrets.",
    "",
    "Two variables choose the shape of a deployment: `FIREHOSE_STREAM_NAME` (set: records go to Firehose through the",
    "spool; unset: to gzip files under `DATA_DIR`) and `WOOTRIC_CLIENT_ID` with `WOOTRIC_CLIENT_SECRET` (set: the",
    "poller runs; unset: webhooks only).",
    "",
  ];
  for (const [group, title] of Object.entries(CONFIG_GROUPS)) {
    out.push(`## ${title}`, "", "| Variable | Default | Accepts | Meaning |", "|---|---|---|---|");
    for (const [name, v] of variables.filter(([, v]) => v.group === group)) {
      const def = defaultOf(name, v) ?? v.unset ?? "(missing)";
      out.push(`| \`${name}\` | ${cell(def)} | ${cell(acceptsOf(v) ?? "")} | ${cell(v.meaning)} |`);
    }
    out.push("");
  }
  out.push(
    "## AWS SDK",
    "",
    "The AWS SDK reads its usual variables: `AWS_REGION`, the credential chain (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`,",
    "`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, instance and task roles), and `AWS_ENDPOINT_URL_FIREHOSE` /",
    "`AWS_ENDPOINT_URL_S3` for other endpoints (LocalStack, moto, MinIO). See the",
    "[AWS SDK environment variables](https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html).",
    "`AWS_DEFAULT_REGION` works too. With `FIREHOSE_STREAM_NAME`, or an `s3://` `STATE_URL`, `DEAD_LETTER_URL`,",
    "`DATA_URL` or `FIREHOSE_ERROR_URL` set and no region anywhere, every command exits 2 naming `AWS_REGION`.",
    "",
  );
  return out.join("\n");
}
