import winston from "winston";

export type Logger = winston.Logger;

const SECRET_KEY = /secret|password|token|authorization|signature|credential/i;

/** Replaces the values of secret-looking keys anywhere in a log entry, so secrets never reach the output. */
const redact = winston.format((info) => {
  const seen = new WeakSet<object>();
  const walk = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object" || depth > 6) return value;
    if (seen.has(value)) return "[circular]";
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) && v != null ? "[redacted]" : walk(v, depth + 1);
    return out;
  };
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "message") continue;
    const v = info[key];
    info[key] = SECRET_KEY.test(key) && v != null ? "[redacted]" : walk(v, 0);
  }
  return info;
});

export function createLogger(opts: { level?: string; format?: "auto" | "json" | "pretty" } = {}): Logger {
  const pretty = opts.format === "pretty" || (opts.format !== "json" && process.stderr.isTTY === true);
  const format = pretty
    ? winston.format.combine(
        redact(),
        winston.format.timestamp({ format: "HH:mm:ss.SSS" }),
        winston.format.colorize(),
        winston.format.printf(({ level, message, timestamp, ...rest }) => {
          const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
          return `${String(timestamp)} ${level} ${String(message)}${extra}`;
        }),
      )
    : winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
  // Logs go to stderr so stdout stays free for command output (doctor, sync summaries).
  return winston.createLogger({
    level: opts.level ?? "info",
    format,
    transports: [new winston.transports.Console({ stderrLevels: ["error", "warn", "info", "debug"] })],
  });
}

/** `scheme://user:pass@host` → `scheme://***@host` anywhere in a text, so URLs never show credentials. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, "$1***@");
}

/** A logger that prints nothing: for tests and library use. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
}
