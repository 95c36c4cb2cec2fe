import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dirFsyncUnsupported, fsyncDir, mkdirDurable } from "../../src/common/durable-fs.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "wf-durable-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const errno = (code: string) => Object.assign(new Error(code), { code });

describe("common/durable-fs", () => {
  test("fsyncDir syncs a directory; a missing one is an error", async () => {
    await fsyncDir(root);
    await assert.rejects(fsyncDir(join(root, "missing")), { code: "ENOENT" });
  });

  test("only 'cannot fsync a directory here' is tolerated; real write-back failures are not", () => {
    for (const code of ["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR", "EBADF"])
      assert.ok(dirFsyncUnsupported(errno(code)));
    for (const code of ["EIO", "ENOSPC", "EDQUOT", "EACCES", "ENOENT"]) assert.ok(!dirFsyncUnsupported(errno(code)));
    assert.ok(!dirFsyncUnsupported(new Error("no code")));
    assert.ok(!dirFsyncUnsupported(undefined));
  });

  test("mkdirDurable creates every missing level, and is a no-op when the directory exists", async () => {
    const deep = join(root, "a", "b", "c");
    await mkdirDurable(deep);
    assert.ok((await stat(deep)).isDirectory());
    await mkdirDurable(deep);
    await mkdirDurable(root);
  });

  test("mkdirDurable below a regular file fails with the file system's error", async () => {
    const file = join(root, "plain-file");
    await writeFile(file, "x");
    await assert.rejects(mkdirDurable(join(file, "sub")), { code: "ENOTDIR" });
  });
});
