import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@cdktn/hcl2json";

export const TERRAFORM_DIR = fileURLToPath(new URL("../../terraform/", import.meta.url));

/** A block as hcl2json gives it: attributes are literals or "${expression}" strings, nested blocks are arrays. */
export type Block = Record<string, unknown>;

/** The root module's .tf files merged: kind ("resource", "data", "variable", ...) → type → name → block. */
export interface TerraformConfig {
  resource: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  variable: Record<string, Block>;
  output: Record<string, Block>;
  locals: Block;
  terraform: Block[];
  files: Record<string, string>;
}

export async function loadTerraformConfig(dir = TERRAFORM_DIR): Promise<TerraformConfig> {
  const cfg: TerraformConfig = {
    resource: {},
    data: {},
    variable: {},
    output: {},
    locals: {},
    terraform: [],
    files: {},
  };
  const names = (await readdir(dir)).filter((n) => n.endsWith(".tf") && !n.endsWith("_override.tf")).sort();
  for (const name of names) {
    const text = await readFile(join(dir, name), "utf8");
    cfg.files[name] = text;
    const parsed = (await parse(name, text)) as Record<string, unknown>;
    for (const kind of ["resource", "data"] as const) {
      const byType = (parsed[kind] ?? {}) as Record<string, Record<string, Block[]>>;
      for (const [type, byName] of Object.entries(byType)) {
        for (const [n, blocks] of Object.entries(byName)) (cfg[kind][type] ??= {})[n] = blocks[0]!;
      }
    }
    for (const kind of ["variable", "output"] as const) {
      const byName = (parsed[kind] ?? {}) as Record<string, Block[]>;
      for (const [n, blocks] of Object.entries(byName)) cfg[kind][n] = blocks[0]!;
    }
    for (const l of (parsed.locals ?? []) as Block[]) Object.assign(cfg.locals, l);
    cfg.terraform.push(...((parsed.terraform ?? []) as Block[]));
  }
  return cfg;
}

/** The nested blocks `name` of a block, including the content of `dynamic "name"` blocks. */
export function blocks(block: Block | undefined, name: string): Block[] {
  if (!block) return [];
  const direct = (block[name] ?? []) as Block[];
  const dynamic = ((block.dynamic as Record<string, Block[]> | undefined)?.[name] ?? []).flatMap(
    (d) => (d.content ?? []) as Block[],
  );
  return [...direct, ...dynamic];
}

export function one(block: Block | undefined, name: string): Block {
  const found = blocks(block, name);
  if (found.length !== 1) throw new Error(`expected exactly one ${name} block, found ${found.length}`);
  return found[0]!;
}

export interface Statement {
  effect: string;
  actions: string[];
  resources: string[];
  raw: Block;
}

/** The statements of a data.aws_iam_policy_document (static and dynamic ones). */
export function statementsOf(doc: Block): Statement[] {
  return blocks(doc, "statement").map((s) => ({
    effect: (s.effect as string | undefined) ?? "Allow",
    actions: asList(s.actions),
    resources: asList(s.resources),
    raw: s,
  }));
}

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}
