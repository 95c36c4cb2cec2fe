import { randomBytes } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir, mkdirDurable } from "../common/durable-fs.js";
import type { Logger } from "../log.js";

export const DEV_SECRET_FILE = "webhook-secret";

/**
 * Out-of-the-box `npm start` (file sink, no WOOTRIC_WEBHOOK_SECRET): a random secret is generated once and kept
 * (mode 0600) at `${DATA_DIR}/webhook-secret`, so local test webhooks can be signed without configuring anything.
 */
export async function ensureDevSecret(dataDir: string, logger: Logger): Promise<{ secret: string; path: string }> {
  await mkdirDurable(dataDir);
  const path = join(dataDir, DEV_SECRET_FILE);
  let secret: string;
  try {
    const handle = await open(path, "wx", 0o600);
    secret = randomBytes(16).toString("hex");
    try {
      await handle.writeFile(`${secret}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsyncDir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    secret = (await readFile(path, "utf8")).trim();
    if (secret === "") throw new Error(`${path} is empty: delete it to generate a new development secret`);
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      logger.warn(
        `the development webhook secret ${path} is readable by group or others (mode ${mode.toString(8)}): run chmod 600 on it`,
        { file: path },
      );
    }
  }
  logger.warn(
    `WOOTRIC_WEBHOOK_SECRET is not set: webhooks are verified with a generated development secret stored in ${path}. ` +
      "Production must set WOOTRIC_WEBHOOK_SECRET to the secret token from Wootric → Settings → Outgoing Webhooks.",
    { file: path },
  );
  return { secret, path };
}
