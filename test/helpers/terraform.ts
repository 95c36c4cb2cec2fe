import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, parse } from "node:path";

/**
 * Finds a local filesystem mirror of the hashicorp/aws provider, the way tfcheck does: TF_PLUGIN_MIRROR, the user's
 * ~/.terraform.d/plugins, or the first folder up to three levels below / holding a registry.terraform.io tree
 * (machine images put one at e.g. /opt/tf-plugins).
 */
export function findProviderMirror(): string | undefined {
  const holdsAws = (d: string) => existsSync(join(d, "registry.terraform.io", "hashicorp", "aws"));
  const candidates = [process.env.TF_PLUGIN_MIRROR, join(homedir(), ".terraform.d", "plugins")];
  for (const c of candidates) if (c && holdsAws(c)) return c;
  const skip = new Set([
    "proc",
    "sys",
    "dev",
    "run",
    "tmp",
    "var",
    "home",
    "root",
    "work",
    "mnt",
    "media",
    "boot",
    "lost+found",
  ]);
  const search = (dir: string, depth: number): string | undefined => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return undefined;
    }
    for (const name of entries) {
      if (depth === 1 && skip.has(name)) continue;
      const d = join(dir, name);
      try {
        if (!statSync(d).isDirectory()) continue;
      } catch {
        continue;
      }
      if (holdsAws(d)) return d;
      if (depth < 3) {
        const found = search(d, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return search(parse(process.cwd()).root, 1);
}

/** Why `terraform apply` tests cannot run here, or undefined when they can. */
export function terraformMissingReason(): string | undefined {
  const r = spawnSync("terraform", ["version"], { stdio: "ignore" });
  if (r.error) return "terraform is not installed (needs Terraform >= 1.6 on PATH)";
  if (!findProviderMirror()) {
    return "no local hashicorp/aws provider mirror found (set TF_PLUGIN_MIRROR to a folder holding registry.terraform.io/hashicorp/aws)";
  }
  return undefined;
}

/** Text of a CLI configuration that makes `terraform init` install providers from the local mirror only. */
export function mirrorCliConfig(mirror: string): string {
  return `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/*/*"]\n  }\n}\n`;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs terraform asynchronously (moto and the service keep running meanwhile); kills it after timeoutMs. */
export function runTerraform(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("terraform", args, {
      cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        TF_IN_AUTOMATION: "1",
        CHECKPOINT_DISABLE: "1",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const MOTO_SERVICES = [
  "appautoscaling",
  "athena",
  "cloudwatch",
  "cloudwatchlogs",
  "ec2",
  "ecr",
  "ecs",
  "efs",
  "elbv2",
  "firehose",
  "glue",
  "iam",
  "kms",
  "s3",
  "secretsmanager",
  "sns",
  "sts",
];

/**
 * An override file pointing the aws provider at moto with dummy credentials. Every service the configuration uses is
 * listed, so a plan or apply never reaches a real AWS endpoint.
 */
export function motoProviderOverride(endpoint: string): string {
  const endpoints = MOTO_SERVICES.map((s) => `    ${s.padEnd(14)} = "${endpoint}"`).join("\n");
  return `provider "aws" {
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {
${endpoints}
  }
}
`;
}

/**
 * Copies the module's own files (not .terraform, state or lock files) from terraform/ into `work`/terraform, adds the
 * moto override and a CLI config for the local provider mirror. Returns the directory and the env for runTerraform.
 */
export async function prepareTerraformCopy(
  terraformDir: string,
  work: string,
  motoEndpoint: string,
): Promise<{ dir: string; env: Record<string, string> }> {
  const { cp, mkdir, readdir, writeFile } = await import("node:fs/promises");
  const dir = join(work, "terraform");
  await mkdir(dir);
  for (const name of await readdir(terraformDir)) {
    if (name.endsWith(".tf") || name.endsWith(".json")) await cp(join(terraformDir, name), join(dir, name));
  }
  for (const sub of ["examples", "sql", "modules"]) {
    if (existsSync(join(terraformDir, sub))) await cp(join(terraformDir, sub), join(dir, sub), { recursive: true });
  }
  await writeFile(join(dir, "moto_override.tf"), motoProviderOverride(motoEndpoint));
  await writeFile(join(work, "cli.tfrc"), mirrorCliConfig(findProviderMirror()!));
  return { dir, env: { TF_CLI_CONFIG_FILE: join(work, "cli.tfrc"), AWS_EC2_METADATA_DISABLED: "true" } };
}
