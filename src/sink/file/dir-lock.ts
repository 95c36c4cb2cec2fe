import { readFile, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";

export const LOCK_FILE = ".file-sink.lock";

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `DATA_DIR ${dataDir} is in use by another wootric-firehose process (pid ${pid}); give each process its own DATA_DIR, or delete ${join(dataDir, LOCK_FILE)} if that process is gone`,
    );
    this.name = "DataDirInUseError";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One file sink per DATA_DIR: start-up recovery finalises every `.open` file it finds, which must never touch the files
 * of another live process. A lock naming a dead process (or this one, as after a restart in a container where the pid
 * is always 1) is stale and taken over.
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const path = join(dataDir, LOCK_FILE);
  try {
    const pid = Number((await readFile(path, "utf8")).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new DataDirInUseError(dataDir, pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  await writeFile(path, `${process.pid}\n`);
  return {
    release: async () => {
      await rm(path, { force: true });
    },
  };
}
