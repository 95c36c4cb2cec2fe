import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { eventually, GiveUp } from "./eventually.js";
import { freePort } from "./free-port.js";

/** Why moto cannot run here, or undefined when it can. Tests skip with this reason (on CI it must be present). */
export function motoMissingReason(): string | undefined {
  const r = spawnSync("python3", ["-c", "import moto.server"], { stdio: "ignore" });
  if (r.error) return "python3 is not installed, so moto (python3 -m moto.server) cannot run";
  if (r.status !== 0) return "moto is not installed: pip install 'moto[server]' to run the AWS integration tests";
  return undefined;
}

export interface Moto {
  endpoint: string;
  /** Environment for a child process (or this one) to talk to moto with dummy credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts `python3 -m moto.server` on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new GiveUp(`moto exited early (${child.exitCode})`);
        return (await fetch(`${endpoint}/moto-api/`)).status < 500;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "moto to answer" },
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`moto did not start: ${(err as Error).message}\n${stderr}`);
  }
  const env = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_ENDPOINT_URL_FIREHOSE: endpoint,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_IAM: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
  };
  return {
    endpoint,
    env,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
