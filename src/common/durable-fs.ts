import { mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/**
 * Error codes meaning "this platform or filesystem cannot fsync a directory", not "the data is lost":
 * EINVAL / ENOTSUP / EOPNOTSUPP (some network and FUSE filesystems, fsync(2)), EISDIR (Windows refuses to open a
 * directory as a file) and EBADF (platforms that only sync handles opened for writing). There the file's own fsync is
 * all the durability on offer. Anything else (EIO above all, also ENOSPC, EDQUOT) is a real write-back failure and is
 * thrown: after a failed fsync the kernel may already have dropped the dirty pages, so reporting success would
 * acknowledge records that are not on disk.
 */
const DIR_FSYNC_UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR", "EBADF"]);

export function dirFsyncUnsupported(err: unknown): boolean {
  return DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException | undefined)?.code ?? "");
}

/** fsync a directory, so a file created, renamed or removed in it survives a crash. */
export async function fsyncDir(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } catch (err) {
    if (!dirFsyncUnsupported(err)) throw err;
  } finally {
    await handle?.close();
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
