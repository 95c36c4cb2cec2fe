import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isCalendarDate, isValidCron, nextCronRun } from "../../src/common/validate.js";
import { ConfigError, loadConfig } from "../../src/config/index.js";

describe("common/validate", () => {
  test("calendar dates: real days only, written YYYY-MM-DD", () => {
    for (const ok of ["2024-02-29", "2023-12-31", "2024-04-30", "0001-01-01", "0099-06-15", "9999-12-31"]) {
      assert.ok(isCalendarDate(ok), ok);
    }
    for (const bad of [
      "2024-02-30",
      "2023-02-29",
      "2024-04-31",
      "2024-13-01",
      "2024-00-10",
      "2024-01-00",
      "2024-1-01",
      "24-01-01",
      "2024-01-01T00:00:00Z",
      " 2024-01-01",
      "",
    ]) {
      assert.ok(!isCalendarDate(bad), bad);
    }
  });

  test("SYNC_START_DATE=2024-02-30 is refused naming the variable, not rolled over to March", () => {
    assert.throws(
      () => loadConfig({ SYNC_START_DATE: "2024-02-30" }),
      (err) =>
        err instanceof ConfigError && /SYNC_START_DATE="2024-02-30": is not a real calendar date/.test(err.message),
    );
    assert.equal(loadConfig({ SYNC_START_DATE: "2024-02-29" }).poll.startDate, "2024-02-29");
  });

  test("cron rules: what node-schedule accepts, with the next run in UTC", () => {
    assert.ok(isValidCron("*/15 * * * *"));
    assert.ok(isValidCron("0 3 * * 1-5"));
    for (const bad of ["every 15 minutes", "61 * * * *", "* * * *  * * *", "0 0 30 2 *"]) {
      assert.ok(!isValidCron(bad), bad);
    }
    const next = nextCronRun("*/15 * * * *");
    assert.ok(next instanceof Date);
    assert.ok(next.getTime() > Date.now() - 1000 && next.getTime() <= Date.now() + 15 * 60_000);
    assert.equal(next.getUTCMinutes() % 15, 0);
    assert.equal(nextCronRun("0 3 * * *")?.getUTCHours(), 3);
    assert.equal(nextCronRun("nope"), undefined);
  });
});
