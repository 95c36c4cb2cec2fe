import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { eventually, GiveUp } from "./eventually.js";
import { freePort } from "./free-port.js";

export const CLI_PATH = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/**
 * The environment every spawned CLI starts from: PATH, and the AWS SDK's documented switch for its Node version
 * warning when the test run set it (CI sets it for the run on an end-of-life Node only; see .ci/run).
 */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  const quiet = process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  if (quiet) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = quiet;
  return env;
}

export interface RunningCli {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  /** Everything the process wrote to stderr (logs) and stdout so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  exited: Promise<number | string>;
}

/** Spawns the built CLI (`npm run build` first) and waits until /healthz answers. */
export async function startServe(env: Record<string, string>, args: string[] = ["serve"]): Promise<RunningCli> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: {
      ...childEnv(),
      HOME: process.env.HOME ?? "",
      LOG_FORMAT: "json",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new GiveUp(`CLI exited early (${await exited})`);
        return (await fetch(`${baseUrl}/healthz`)).ok;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: "the CLI to answer /healthz" },
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}:\n${out}`);
  }
  return {
    child,
    port,
    baseUrl,
    output: () => out,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
