import { mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/**
 * fsync a directory so a file created or renamed in it survives a crash. Some filesystems refuse fsync on a
 * directory (EINVAL, ENOTSUP); there the file's own fsync is all the durability on offer, so that is not an error.
 */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR" && code !== "EBADF") throw err;
  } finally {
    await handle.close();
  }
}

/** `mkdir -p` whose new directory entries are durable too: the parent of every directory it created is fsynced. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const top = dirname(resolve(first));
  for (let d = resolve(dir); ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (dirname(d) === top || dirname(d) === d) return;
  }
}
