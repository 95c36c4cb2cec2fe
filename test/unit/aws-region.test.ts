import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { variablesNeedingRegion } from "../../src/aws/region.js";

describe("variablesNeedingRegion", () => {
  test("names every variable that makes a command call AWS", () => {
    assert.deepEqual(
      variablesNeedingRegion({
        FIREHOSE_STREAM_NAME: "s",
        STATE_URL: "s3://b/state",
        DEAD_LETTER_URL: "s3://b/dead",
        DATA_URL: "s3://b/data",
        FIREHOSE_ERROR_URL: "s3://b/errors/firehose",
      }),
      ["FIREHOSE_STREAM_NAME", "STATE_URL", "DEAD_LETTER_URL", "DATA_URL", "FIREHOSE_ERROR_URL"],
    );
  });

  test("local locations and blank values need no region", () => {
    assert.deepEqual(
      variablesNeedingRegion({ STATE_URL: "/var/state", DATA_URL: " ", FIREHOSE_ERROR_URL: "", DATA_DIR: "./data" }),
      [],
    );
  });
});
