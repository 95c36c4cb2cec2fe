import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import winston from "winston";
import type { Clock } from "../../src/common/clock.js";
import { ConsoleProgress } from "../../src/poller/progress.js";

function manualClock(): Clock & { advance(ms: number): void } {
  let t = Date.UTC(2026, 10, 27);
  return { now: () => t, sleep: async (ms) => void (t += ms), advance: (ms) => void (t += ms) };
}

function capture(): { out: NodeJS.WriteStream; text: () => string } {
  let buf = "";
  const out = {
    write: (s: string) => {
      buf += s;
      return true;
    },
    isTTY: true,
  } as unknown as NodeJS.WriteStream;
  return { out, text: () => buf };
}

test("on a TTY: one line redrawn with \\r showing records, requests, waits and an ETA", () => {
  const clock = manualClock();
  const { out, text } = capture();
  const p = new ConsoleProgress(out, winston.createLogger({ silent: true }), clock, true);
  const from = clock.now() / 1000 - 1000;
  p.streamStart("responses", from - 100_000, clock.now() / 1000);
  p.request();
  p.streamProgress("responses", 50, from);
  clock.advance(10_000);
  p.wait(2000);
  p.request();
  clock.advance(200);
  p.streamProgress("responses", 100, from + 500);
  p.streamDone("responses", 100);
  p.finish();
  const s = text();
  assert.ok(s.includes("\r"), "redraws in place");
  assert.match(s, /responses +\[#+-+\] +50% {2}100 records {2}2 requests {2}1 waits \(2s\) {2}ETA 10s/);
  assert.match(s, /done: 100 records, 2 requests, 1 rate-limit waits \(2s\)\n$/);
});

test("without a TTY: plain log lines, no carriage returns", () => {
  const clock = manualClock();
  const { out, text } = capture();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push((JSON.parse(chunk.toString()) as { message: string }).message);
      cb();
    },
  });
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  const p = new ConsoleProgress(out, logger, clock, false);
  p.streamStart("end_users", 0, 100);
  p.wait(5000);
  p.streamDone("end_users", 3);
  p.finish();
  assert.equal(text(), "");
  assert.deepEqual(lines, ["stream started", "waiting for the Wootric rate limit", "stream done"]);
});
