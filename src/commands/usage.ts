/** A wrong command line: the command prints the message and exits 2. */
export class UsageError extends Error {}

/** parseArgs' own messages tell a programmer how to quote "--"; an operator needs the flag and where the help is. */
export function parserMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const option = /option '(-[^' ]+)/i.exec(e.message ?? "")?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option ${option}`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return `${option} needs a value`;
  return e.message ?? String(err);
}
