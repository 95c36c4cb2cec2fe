/** One line of `wootric-firehose doctor`. `skipped` checks (not configured) do not fail the command. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
}
