import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/log.js";
import { Spool } from "../src/sink/spool/spool.js";
const dir = await mkdtemp(join(tmpdir(), "rec-"));
const s = await Spool.open({ dir, maxBytes: 2 * 1024 ** 3, logger: silentLogger() });
const line = Buffer.from(`${"x".repeat(1023)}\n`);
const batch = Array.from({ length: 1000 }, () => line);
for (let i = 0; i < 100; i++) await s.append(batch);
await s.close();
const t0 = performance.now();
const s2 = await Spool.open({ dir, maxBytes: 2 * 1024 ** 3, logger: silentLogger() });
console.log("recover 100k records / ~100 MB:", (performance.now() - t0).toFixed(0), "ms", s2.stats().records);
const t1 = performance.now(); let n = 0;
for (;;) { const l = await s2.peek(1_024_000); if (!l) break; s2.consume(); n++; }
console.log("read all:", (performance.now() - t1).toFixed(0), "ms", n);
await s2.close(); await rm(dir, { recursive: true, force: true });
