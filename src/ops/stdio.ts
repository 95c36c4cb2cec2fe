/**
 * `npm start | jq`, then jq exits (or Ctrl-C reaches it first): every later write to that pipe fails with EPIPE, and
 * an 'error' event nobody listens to would crash the process in the middle of its shutdown, with records still in
 * flight. With this, a broken stdout or stderr is reported once to `onBroken` (to stop writing there) and the process
 * carries on: finishing the shutdown matters more than its log lines.
 */
export function surviveClosedStdio(onBroken: (stream: "stdout" | "stderr", err: NodeJS.ErrnoException) => void): void {
  for (const name of ["stdout", "stderr"] as const) {
    let broken = false;
    process[name].on("error", (err: NodeJS.ErrnoException) => {
      if (broken) return;
      broken = true;
      onBroken(name, err);
    });
  }
}
