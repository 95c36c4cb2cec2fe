import { type Clock, scaledClock } from "../../src/common/clock.js";

/** A wall-speed clock starting at `start` that a test can also jump forward (hours pass between two syncs). */
export function steppingClock(start: number): Clock & { advance(ms: number): void } {
  const inner = scaledClock(1, start);
  let offset = 0;
  return {
    now: () => inner.now() + offset,
    sleep: (ms, signal) => inner.sleep(ms, signal),
    advance: (ms) => {
      offset += ms;
    },
  };
}
