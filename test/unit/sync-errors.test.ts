import assert from "node:assert/strict";
import { test } from "node:test";
import { isFatal, SyncError } from "../../src/common/errors.js";
import { LeaseLostError } from "../../src/state/lease.js";
import { StateConflictError, StateError } from "../../src/state/store.js";
import { CorruptStateError } from "../../src/state/stream-state.js";
import {
  WootricApiError,
  WootricAuthError,
  WootricUnavailableError,
  WootricUnreachableError,
} from "../../src/wootric/errors.js";

test("one error base says what a failure means for the run, checked with instanceof", () => {
  const cases: [Error, boolean, boolean][] = [
    // error, fatal (stop every stream), state error (never followed by a save)
    [new LeaseLostError("taken over"), true, true],
    [new StateConflictError("bookmarks/x.json", "its version changed"), true, true],
    [new CorruptStateError("versions/responses/2026-01.json", "not JSON"), false, true],
    [new WootricAuthError("refused"), true, false],
    [new WootricUnreachableError("ECONNREFUSED"), true, false],
    [new WootricUnavailableError("HTTP 503 after 8 attempts"), false, false],
    [new WootricApiError("HTTP 400", 400, "/v1/responses"), false, false],
  ];
  for (const [err, fatal, state] of cases) {
    assert.ok(err instanceof SyncError, err.name);
    assert.equal(isFatal(err), fatal, `${err.name} fatal`);
    assert.equal(err instanceof StateError, state, `${err.name} state`);
    assert.equal(err.name, err.constructor.name, "names still say what they are in logs");
  }
  assert.equal(isFatal(new Error("anything else")), false);
  assert.ok(new WootricUnreachableError("x") instanceof WootricUnavailableError);
});
