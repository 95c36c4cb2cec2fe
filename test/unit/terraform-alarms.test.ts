import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { EMF_METRICS } from "../../src/ops/emf-catalog.js";
import { STREAM_NAMES } from "../../src/poller/streams.js";
import { SILENT_FAILURES } from "../helpers/silent-failures.js";
import { loadTerraformConfig, type TerraformConfig } from "../helpers/terraform-config.js";

type Spec = Record<string, unknown> & { queries?: Record<string, unknown>[] };

describe("alarms (terraform/alarms.tf)", () => {
  let cfg: TerraformConfig;
  let specs: Record<string, Spec>;
  before(async () => {
    cfg = await loadTerraformConfig();
    specs = {
      ...(cfg.locals.firehose_alarms as Record<string, Spec>),
      ...(cfg.locals.service_alarms as Record<string, Spec>),
      ...(cfg.locals.alb_alarms as Record<string, Spec>),
      ...(cfg.locals.error_prefix_alarms as Record<string, Spec>),
    };
  });

  test("all alarms are one resource with for_each over local.alarms", () => {
    const alarms = cfg.resource.aws_cloudwatch_metric_alarm ?? {};
    assert.deepEqual(Object.keys(alarms), ["this"]);
    assert.equal(alarms.this!.for_each, "${local.alarms}");
    assert.match(String(alarms.this!.treat_missing_data), /each\.value\.treat_missing_data/);
    const merged = String(cfg.locals.alarms);
    for (const group of ["firehose_alarms", "service_alarms", "poller_alarms", "alb_alarms", "error_prefix_alarms"])
      assert.ok(merged.includes(`local.${group}`), `local.alarms merges ${group}`);
  });

  for (const sf of SILENT_FAILURES) {
    test(`${sf.failure} → ${sf.alarm} (treat_missing_data = ${sf.treatMissing})`, () => {
      if (sf.alarm.startsWith("poller_stale_")) {
        // a for expression over the poller streams: check its text
        const text = String(cfg.locals.poller_alarms);
        assert.match(text, /for stream in local\.poller_streams : "poller_stale_\$\{stream\}"/);
        for (const m of sf.metrics) assert.ok(text.includes(`metric_name        = "${m}"`), m);
        assert.ok(text.includes(`treat_missing_data = "${sf.treatMissing}"`));
        assert.ok(text.includes('statistic          = "Minimum"'), "the youngest success across tasks counts");
        return;
      }
      const spec = specs[sf.alarm];
      assert.ok(spec, `alarm ${sf.alarm} exists`);
      assert.equal(spec.treat_missing_data, sf.treatMissing);
      const read = spec.queries ? spec.queries.map((q) => q.metric_name) : [spec.metric_name];
      for (const m of sf.metrics) assert.ok(read.includes(m), `${sf.alarm} reads ${m}`);
      if (sf.emf) assert.equal(spec.namespace, "${var.metrics_namespace}");
    });
  }

  test("throttling alone never alarms: the adaptive producer runs at the quota and is throttled on every drain", () => {
    for (const [name, spec] of Object.entries(specs)) {
      const read = spec.queries ? spec.queries.map((q) => q.metric_name) : [spec.metric_name];
      for (const m of ["ThrottledRecords", "ThrottledEntries", "ThrottledCalls"])
        assert.ok(!read.includes(m), `${name} must not alarm on ${m}`);
    }
  });

  test("drain_seconds: DrainSeconds above alarm_drain_seconds in every one of alarm_drain_periods periods", () => {
    const d = specs.drain_seconds!;
    assert.equal(d.metric_name, "DrainSeconds");
    assert.equal(d.statistic, "Maximum", "the worst task counts");
    assert.equal(d.comparison, "GreaterThanThreshold");
    assert.equal(d.threshold, "${var.alarm_drain_seconds}");
    assert.equal(d.evaluation_periods, "${var.alarm_drain_periods}");
    assert.equal(d.datapoints_to_alarm, "${var.alarm_drain_periods}", "sustained: every period, not a single peak");
    const v = cfg.variable as Record<string, { default?: unknown }>;
    assert.equal(v.alarm_drain_seconds?.default, 1800);
    assert.equal(v.alarm_drain_periods?.default, 3);
  });

  test("incoming_bytes_near_limit fires only when every 5 minutes of a window of 15+ minutes is near the quota", () => {
    const a = specs.incoming_bytes_near_limit!;
    assert.equal(a.period, 300);
    assert.equal(a.evaluation_periods, "${ceil(var.alarm_incoming_bytes_minutes / 5)}");
    assert.equal(a.datapoints_to_alarm, a.evaluation_periods);
    assert.match(String(a.description), /drains a backlog are expected/);
    const v = cfg.variable as Record<string, { default?: number }>;
    assert.ok((v.alarm_incoming_bytes_minutes?.default ?? 0) >= 15);
  });

  test("poller staleness outlasts a nightly full reconcile of a large account (about 26 min per 128,000 records)", () => {
    const v = cfg.variable as Record<string, { default?: number }>;
    assert.ok((v.alarm_poller_stale_seconds?.default ?? 0) >= 3 * 3600);
    // the evaluation window is a grace for a fresh deploy, capped so a long threshold does not double detection time
    assert.match(
      String(cfg.locals.poller_alarms),
      /evaluation_periods = min\(12, max\(1, ceil\(var\.alarm_poller_stale_seconds \/ 300\)\)\)/,
    );
  });

  test("the poller alarm covers every stream the poller runs", () => {
    const list = String(cfg.files["alarms.tf"]).match(/poller_streams = \[([^\]]*)\]/)?.[1] ?? "";
    assert.deepEqual([...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]).sort(), [...STREAM_NAMES].sort());
  });

  test("every service metric an alarm or the dashboard uses is published by the EMF catalog", () => {
    const published = new Set(EMF_METRICS.map((m) => m.name));
    const used = new Set<string>();
    for (const spec of Object.values(specs))
      if (spec.namespace === "${var.metrics_namespace}") used.add(String(spec.metric_name));
    for (const m of String(cfg.locals.poller_alarms).matchAll(/metric_name\s+= "(\w+)"/g)) used.add(m[1]!);
    for (const m of String(cfg.files["dashboard.tf"]).matchAll(/\[local\.dashboard_namespace, "(\w+)"/g))
      used.add(m[1]!);
    assert.ok(used.size >= 8, `found ${[...used].join(", ")}`);
    for (const name of used) assert.ok(published.has(name), `${name} is in src/ops/emf-catalog.ts`);
  });

  test("the service is told to publish EMF metrics in the namespace and Service dimension the alarms read", () => {
    const env = cfg.locals.app_environment as string;
    assert.match(env, /EMF_METRICS\s+= "true"/);
    assert.match(env, /EMF_NAMESPACE\s+= var\.metrics_namespace/);
    assert.match(env, /EMF_SERVICE_NAME = local\.metrics_service_name/);
    assert.deepEqual(cfg.locals.service_dimension, { Service: "${local.metrics_service_name}" });
  });

  test("the dashboard covers intake, spool, Firehose delivery and freshness, poller freshness and dead letters", () => {
    const text = String(cfg.files["dashboard.tf"]);
    assert.ok(cfg.resource.aws_cloudwatch_dashboard?.main);
    for (const metric of [
      "WebhookRequests",
      "SpoolOldestAgeSeconds",
      "DeliveryToS3.Records",
      "DeliveryToS3.DataFreshness",
      "PollLastSuccessAgeSeconds",
      "DeadLetters",
    ])
      assert.ok(text.includes(`"${metric}"`), metric);
  });
});
