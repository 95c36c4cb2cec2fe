import schedule from "node-schedule";

/**
 * The next time a cron rule fires (UTC), or undefined when node-schedule does not accept it. Asks node-schedule
 * itself, the scheduler the poller runs on, so what passes here is exactly what the scheduler accepts.
 */
export function nextCronRun(rule: string, tz = "Etc/UTC"): Date | undefined {
  const job = new schedule.Job(() => undefined);
  try {
    if (!job.schedule({ rule, tz })) return undefined;
    const next = job.nextInvocation();
    return next ? new Date(next.getTime()) : undefined;
  } finally {
    job.cancel();
  }
}

export function isValidCron(rule: string): boolean {
  return nextCronRun(rule) !== undefined;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A real calendar date written YYYY-MM-DD. `Date.parse` alone rolls impossible days over (2024-02-30 becomes
 * March 1st), so the day must survive a round trip through the calendar.
 */
export function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear puts them back.
  d.setUTCFullYear(year);
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}
