import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { explainStartupError, StartupError } from "../../src/commands/startup-errors.js";
import { loadConfig } from "../../src/config/index.js";
import { DirectoryInUseError } from "../../src/sink/dir-lock.js";

const errno = (code: string, fields: Record<string, unknown>) => Object.assign(new Error(code), { code, ...fields });

describe("start-up errors name the setting to change", () => {
  const file = loadConfig({ DATA_DIR: "/data", PORT: "8080", HOST: "0.0.0.0" });
  const firehose = loadConfig({ DATA_DIR: "/data", FIREHOSE_STREAM_NAME: "s", SPOOL_DIR: "/spool" });

  test("listen failures name PORT or HOST", () => {
    const inUse = explainStartupError(errno("EADDRINUSE", { syscall: "listen" }), file);
    assert.match(inUse!.message, /^cannot listen on 0\.0\.0\.0:8080: the port is already in use.*set PORT/);
    const low = explainStartupError(errno("EACCES", { syscall: "listen" }), loadConfig({ PORT: "80" }));
    assert.match(low!.message, /:80: permission denied \(EACCES\); ports below 1024 .*PORT=8080/);
    const v6 = explainStartupError(errno("EADDRNOTAVAIL", { syscall: "listen" }), loadConfig({ HOST: "fe80::1" }));
    assert.match(v6!.message, /^cannot listen on \[fe80::1\]:8080: HOST=fe80::1 is not an address of this machine/);
    const dns = explainStartupError(errno("ENOTFOUND", { syscall: "getaddrinfo" }), loadConfig({ HOST: "x.invalid" }));
    assert.match(dns!.message, /HOST=x\.invalid does not resolve/);
    for (const code of ["EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]) {
      const e = explainStartupError(errno(code, { syscall: "getaddrinfo" }), loadConfig({ HOST: "x.invalid" }));
      assert.match(e?.message ?? code, new RegExp(`HOST=x\\.invalid does not resolve to an address \\(${code}\\)`));
    }
  });

  test("a directory held by another process is explained as it is (exit 2)", () => {
    const held = new DirectoryInUseError("DATA_DIR", "/data", "/data/.file-sink.lock", {
      host: "h",
      pid: 7,
      heartbeatAt: Date.now(),
    });
    const e = explainStartupError(held, file);
    assert.ok(e instanceof StartupError);
    assert.match(e.message, /^DATA_DIR \/data is in use by another wootric-firehose process \(host h, pid 7/);
  });

  test("EACCES in or above the sink's directory names DATA_DIR or SPOOL_DIR, the path and uid 1000", () => {
    const inside = explainStartupError(errno("EACCES", { syscall: "open", path: "/data/2024/x.json.gz.open" }), file);
    assert.match(
      inside!.message,
      /^DATA_DIR=\/data: permission denied \(EACCES\) at \/data\/2024\/x\.json\.gz\.open: /,
    );
    assert.match(inside!.message, /uid 1000/);
    const parent = explainStartupError(errno("EACCES", { syscall: "mkdir", path: "/" }), firehose);
    assert.match(parent!.message, /^SPOOL_DIR=\/spool: permission denied \(EACCES\) at \/: /);
    const readOnly = explainStartupError(errno("EROFS", { syscall: "open", path: "/spool/seg" }), firehose);
    assert.match(readOnly!.message, /read-only file system \(EROFS\)/);
  });

  test("anything else is left alone (the CLI reports it as it is, exit 1)", () => {
    assert.equal(explainStartupError(errno("EACCES", { syscall: "open", path: "/etc/elsewhere" }), file), undefined);
    assert.equal(explainStartupError(errno("EIO", { syscall: "write", path: "/data/x" }), file), undefined);
    assert.equal(explainStartupError(new Error("boom"), file), undefined);
    assert.equal(explainStartupError(undefined, file), undefined);
  });
});
