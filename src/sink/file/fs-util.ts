import { open } from "node:fs/promises";

/** fsync a directory so a file created or renamed in it survives a crash. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
