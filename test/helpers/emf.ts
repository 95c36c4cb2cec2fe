import assert from "node:assert/strict";

const UNITS = new Set([
  "Seconds",
  "Microseconds",
  "Milliseconds",
  "Bytes",
  "Kilobytes",
  "Megabytes",
  "Gigabytes",
  "Terabytes",
  "Bits",
  "Kilobits",
  "Megabits",
  "Gigabits",
  "Terabits",
  "Percent",
  "Count",
  "Bytes/Second",
  "Kilobytes/Second",
  "Megabytes/Second",
  "Gigabytes/Second",
  "Terabytes/Second",
  "Bits/Second",
  "Kilobits/Second",
  "Megabits/Second",
  "Gigabits/Second",
  "Terabits/Second",
  "Count/Second",
  "None",
]);

/**
 * Checks one log line against the CloudWatch Embedded Metric Format specification
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * a JSON object alone on its line, `_aws.Timestamp` in epoch milliseconds, `_aws.CloudWatchMetrics` an array of
 * directives with a Namespace, DimensionSets of at most 30 names that are string members of the root, and at most
 * 100 metric definitions whose names are numeric members (or arrays of at most 100 numbers) of the root.
 */
export function assertEmfLine(line: string): Record<string, unknown> {
  assert.equal(line.trim(), line, "an EMF line has nothing before or after the JSON object");
  const doc = JSON.parse(line) as Record<string, unknown>;
  assert.ok(doc && typeof doc === "object" && !Array.isArray(doc), "root is an object");
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown };
  assert.ok(aws && typeof aws === "object", "_aws member");
  assert.ok(Number.isInteger(aws.Timestamp) && (aws.Timestamp as number) > 1e12, "_aws.Timestamp in epoch ms");
  assert.ok(Array.isArray(aws.CloudWatchMetrics) && aws.CloudWatchMetrics.length > 0, "_aws.CloudWatchMetrics");
  for (const directive of aws.CloudWatchMetrics as Record<string, unknown>[]) {
    const ns = directive.Namespace;
    assert.ok(typeof ns === "string" && ns.length >= 1 && ns.length <= 1024 && !ns.includes(":"), "Namespace");
    assert.ok(Array.isArray(directive.Dimensions), "Dimensions is an array of DimensionSets");
    for (const set of directive.Dimensions as unknown[]) {
      assert.ok(Array.isArray(set) && set.length <= 30, "a DimensionSet has at most 30 dimensions");
      for (const name of set as unknown[]) {
        assert.equal(typeof name, "string");
        assert.equal(typeof doc[name as string], "string", `dimension ${String(name)} is a string member of the root`);
      }
    }
    const metrics = directive.Metrics as Record<string, unknown>[];
    assert.ok(Array.isArray(metrics) && metrics.length >= 1 && metrics.length <= 100, "1-100 Metrics");
    for (const m of metrics) {
      assert.ok(typeof m.Name === "string" && m.Name.length >= 1 && m.Name.length <= 1024, "metric Name");
      if (m.Unit !== undefined) assert.ok(UNITS.has(m.Unit as string), `valid Unit ${String(m.Unit)}`);
      if (m.StorageResolution !== undefined) assert.ok([1, 60].includes(m.StorageResolution as number));
      const v = doc[m.Name as string];
      const ok =
        (typeof v === "number" && Number.isFinite(v)) ||
        (Array.isArray(v) && v.length <= 100 && v.every((x) => typeof x === "number" && Number.isFinite(x)));
      assert.ok(ok, `metric ${String(m.Name)} is a number member of the root (got ${JSON.stringify(v)})`);
    }
  }
  return doc;
}
