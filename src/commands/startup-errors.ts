import { resolve, sep } from "node:path";
import type { Config } from "../config/index.js";
import { DirectoryInUseError } from "../sink/dir-lock.js";

/** A start-up failure the operator fixes in the configuration or on the host: the CLI prints it and exits 2. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** The Dockerfile's `USER node`: uid 1000 in the official node images. */
const IMAGE_UID = 1000;

function listenError(err: NodeJS.ErrnoException, host: string, port: number): StartupError | undefined {
  const where = `cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return new StartupError(
        `${where}: the port is already in use (EADDRINUSE). ` +
          `Stop the other process listening there, or set PORT to a free port (e.g. PORT=${port + 1})`,
        { cause: err },
      );
    case "EACCES":
      return new StartupError(
        `${where}: permission denied (EACCES); ports below 1024 need privileges. ` +
          "Set PORT to 1024 or above (e.g. PORT=8080)",
        { cause: err },
      );
    case "EADDRNOTAVAIL":
      return new StartupError(
        `${where}: HOST=${host} is not an address of this machine (EADDRNOTAVAIL). ` +
          "Set HOST to one of its addresses, or to 0.0.0.0 (the default) for all interfaces",
        { cause: err },
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return new StartupError(
        `${where}: HOST=${host} does not resolve to an address (${err.code}). ` +
          "Set HOST to an IP address of this machine or a name that resolves to one, " +
          "or to 0.0.0.0 (the default) for all interfaces",
        { cause: err },
      );
    default:
      return undefined;
  }
}

function inside(path: string, dir: string): boolean {
  const p = resolve(path);
  const d = resolve(dir);
  return p === d || p.startsWith(d.endsWith(sep) ? d : d + sep);
}

/** The directory the sink writes to at start-up, with the variable that names it (SPOOL_DIR: DATA_DIR/_spool by default). */
function sinkDir(config: Config): { variable: string; dir: string } {
  return config.sink.kind === "file"
    ? { variable: "DATA_DIR", dir: config.sink.dataDir }
    : { variable: "SPOOL_DIR", dir: config.sink.spoolDir };
}

function directoryError(err: NodeJS.ErrnoException, config: Config): StartupError | undefined {
  if (!["EACCES", "EPERM", "EROFS"].includes(err?.code ?? "") || typeof err.path !== "string") return undefined;
  const path = err.path;
  // A path inside the directory, or a parent that mkdir -p could not create it in (a root-owned mount point).
  const match = sinkDir(config);
  if (!inside(path, match.dir) && !inside(match.dir, path)) return undefined;
  const what = err.code === "EROFS" ? "read-only file system" : "permission denied";
  const uid = process.getuid?.();
  return new StartupError(
    `${match.variable}=${match.dir}: ${what} (${err.code}) at ${path}: the service cannot write there. ` +
      `Make the directory writable by the user the service runs as (uid ${uid ?? "?"}; ` +
      `the Docker image runs as the node user, uid ${IMAGE_UID}: for a bind mount, ` +
      `chown -R ${IMAGE_UID}:${IMAGE_UID} the host directory), or set ${match.variable} to a writable directory`,
    { cause: err },
  );
}

/** A clear, actionable message for the failures an operator causes at start-up, or undefined for anything else. */
export function explainStartupError(err: unknown, config: Config): StartupError | undefined {
  if (err instanceof StartupError) return err;
  if (err instanceof DirectoryInUseError) return new StartupError(err.message, { cause: err });
  const e = err as NodeJS.ErrnoException;
  if (e?.syscall === "listen" || e?.syscall === "getaddrinfo") {
    const explained = listenError(e, config.http.host, config.http.port);
    if (explained) return explained;
  }
  return directoryError(e, config);
}
