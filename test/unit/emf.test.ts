import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EmfEmitter } from "../../src/ops/emf.js";
import { EMF_METRICS } from "../../src/ops/emf-catalog.js";
import { Metrics } from "../../src/ops/metrics.js";
import { assertEmfLine } from "../helpers/emf.js";

const settings = { namespace: "WootricFirehose", service: "test-svc", intervalMs: 60_000 };

function emitter(metrics: Metrics) {
  const lines: string[] = [];
  const e = new EmfEmitter(
    metrics.registry,
    settings,
    (l) => lines.push(l),
    EMF_METRICS,
    () => 1_767_000_000_000,
  );
  return { e, lines };
}

/** value of metric `name` in the document whose dimensions match `dims` */
function metricValue(lines: string[], name: string, dims: Record<string, string> = {}): number | undefined {
  for (const line of lines) {
    const doc = assertEmfLine(line);
    if (!(name in doc)) continue;
    if (Object.entries({ Service: "test-svc", ...dims }).every(([k, v]) => doc[k] === v)) return doc[name] as number;
  }
  return undefined;
}

describe("EMF emission", () => {
  test("lines are valid EMF and carry the Prometheus values; counters become per-interval deltas", async () => {
    const metrics = new Metrics({ defaults: false });
    const requests = metrics.counter("http_requests_total", "h", ["route", "status"]);
    const sig = metrics.counter("webhook_signature_failures_total", "h", ["reason"]);
    const blocked = metrics.gauge("producer_blocked", "h");
    const oldest = metrics.gauge("spool_oldest_age_seconds", "h");
    const dlqWebhook = metrics.counter("webhook_dead_letters_total", "h", ["kind"]);
    const dlqProducer = metrics.counter("producer_dead_letters_total", "h", ["path"]);
    const entryFailures = metrics.counter("producer_entry_failures_total", "h", ["code"]);
    const throttledEntries = metrics.counter("producer_throttled_entries_total", "h");
    const throttledCalls = metrics.counter("producer_throttled_calls_total", "h");
    const drain = metrics.gauge("producer_drain_seconds", "h");
    const pollAge = metrics.gauge("poll_last_success_age_seconds", "h", ["stream"]);
    const pollRecords = metrics.counter("poll_records_total", "h", ["stream"]);

    requests.inc({ route: "/webhooks/wootric", status: "200" }, 5);
    requests.inc({ route: "/webhooks/wootric", status: "401" }, 3);
    requests.inc({ route: "/readyz", status: "503" }, 9); // not a webhook: not counted
    sig.inc({ reason: "mismatch" }, 2);
    sig.inc({ reason: "missing" }, 1);
    blocked.set(1);
    oldest.set(421.5);
    dlqWebhook.inc({ kind: "unparseable" }, 1);
    dlqProducer.inc({ path: "s3" }, 2);
    entryFailures.inc({ code: "ServiceUnavailableException" }, 7);
    entryFailures.inc({ code: "InternalFailure" }, 4); // not throttling
    throttledEntries.inc(7); // the producer counts the same 7 throttled entries here
    throttledCalls.inc(2); // and two calls refused whole (ThrottlingException), which carry no entry codes
    drain.set(1234.5);
    pollAge.set({ stream: "responses" }, 30);
    pollAge.set({ stream: "declines" }, 900);
    pollRecords.inc({ stream: "responses" }, 12);

    const { e, lines } = emitter(metrics);
    assert.ok((await e.emit()) > 0);
    for (const line of lines) {
      const doc = assertEmfLine(line);
      const aws = doc._aws as { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      assert.equal(aws.Timestamp, 1_767_000_000_000);
      assert.equal(aws.CloudWatchMetrics[0]!.Namespace, "WootricFirehose");
      assert.ok(aws.CloudWatchMetrics[0]!.Dimensions[0]!.includes("Service"));
    }
    assert.equal(metricValue(lines, "WebhookRequests", { Status: "200" }), 5);
    assert.equal(metricValue(lines, "WebhookRequests", { Status: "401" }), 3);
    assert.equal(metricValue(lines, "WebhookRequests", { Status: "503" }), undefined);
    assert.equal(metricValue(lines, "SignatureFailures"), 3);
    assert.equal(metricValue(lines, "ProducerBlocked"), 1);
    assert.equal(metricValue(lines, "SpoolOldestAgeSeconds"), 421.5);
    assert.equal(metricValue(lines, "DeadLetters"), 3);
    assert.equal(metricValue(lines, "ThrottledEntries"), 7, "from producer_throttled_entries_total, not counted twice");
    assert.equal(metricValue(lines, "ThrottledCalls"), 2);
    assert.equal(metricValue(lines, "DrainSeconds"), 1234.5);
    assert.equal(metricValue(lines, "PollLastSuccessAgeSeconds", { Stream: "responses" }), 30);
    assert.equal(metricValue(lines, "PollLastSuccessAgeSeconds", { Stream: "declines" }), 900);
    assert.equal(metricValue(lines, "PollRecords", { Stream: "responses" }), 12);
    // not registered in this process (no spool): absent rather than a made-up zero
    assert.equal(metricValue(lines, "SpoolRecords"), undefined);

    lines.length = 0;
    requests.inc({ route: "/webhooks/wootric", status: "401" }, 2);
    blocked.set(0);
    throttledCalls.inc();
    drain.set(0);
    await e.emit();
    assert.equal(metricValue(lines, "ThrottledCalls"), 1);
    assert.equal(metricValue(lines, "ThrottledEntries"), 0);
    assert.equal(metricValue(lines, "DrainSeconds"), 0);
    assert.equal(metricValue(lines, "WebhookRequests", { Status: "401" }), 2);
    assert.equal(metricValue(lines, "WebhookRequests", { Status: "200" }), 0);
    assert.equal(metricValue(lines, "SignatureFailures"), 0);
    assert.equal(metricValue(lines, "DeadLetters"), 0);
    assert.equal(metricValue(lines, "ProducerBlocked"), 0);
  });

  test("a counter with no samples yet reports 0 so sums have data points; one line per dimension combination", async () => {
    const metrics = new Metrics({ defaults: false });
    metrics.counter("webhook_signature_failures_total", "h", ["reason"]);
    const pollRecords = metrics.counter("poll_records_total", "h", ["stream"]);
    pollRecords.inc({ stream: "responses" });
    pollRecords.inc({ stream: "end_users" });
    const { e, lines } = emitter(metrics);
    await e.emit();
    assert.equal(metricValue(lines, "SignatureFailures"), 0);
    const streams = lines.map((l) => assertEmfLine(l)).filter((d) => "PollRecords" in d);
    assert.deepEqual(streams.map((d) => d.Stream).sort(), ["end_users", "responses"]);
  });

  test("catalog names are unique and every dimension set fits the EMF limits", () => {
    const names = EMF_METRICS.map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    for (const m of EMF_METRICS) assert.ok(Object.keys(m.dimensions ?? {}).length + 1 <= 30);
    assert.ok(EMF_METRICS.length <= 100);
  });
});
