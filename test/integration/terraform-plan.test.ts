import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Moto, motoMissingReason, startMoto } from "../helpers/moto.js";
import { SILENT_FAILURES } from "../helpers/silent-failures.js";
import { prepareTerraformCopy, type RunResult, runTerraform, terraformMissingReason } from "../helpers/terraform.js";
import { TERRAFORM_DIR } from "../helpers/terraform-config.js";

/**
 * `terraform plan` of the complete example (compute layer included), which `terraform validate` cannot do: it
 * evaluates every expression with real variable values, the container definition and the preconditions.
 * moto only answers the caller-identity lookup; nothing is created.
 */

const skip = terraformMissingReason() ?? motoMissingReason();

describe("terraform plan of the examples", { timeout: 600_000 }, () => {
  let moto: Moto;
  let work: string;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    if (skip) return;
    moto = await startMoto();
    work = await mkdtemp(join(tmpdir(), "wf-tf-plan-"));
    ({ dir, env } = await prepareTerraformCopy(TERRAFORM_DIR, work, moto.endpoint));
    const init = await runTerraform(["init", "-input=false", "-no-color"], dir, env, 300_000);
    assert.equal(init.code, 0, `terraform init failed:\n${init.stdout}\n${init.stderr}`);
  });

  after(async () => {
    if (skip) return;
    await moto?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const plan = (args: string[]) =>
    runTerraform(
      ["plan", "-input=false", "-no-color", "-lock=false", "-var-file=examples/complete.tfvars", ...args],
      dir,
      env,
      300_000, // a deadline: plans of the whole stack take minutes on a loaded machine
    );

  // Both plans start together: most of a plan's time is the provider starting up, not CPU.
  let full: Promise<RunResult>;
  let efsWithScaling: Promise<RunResult>;
  before(() => {
    if (skip) return;
    full = plan(["-out=full.tfplan"]);
    efsWithScaling = plan(["-var", "spool_storage=efs", "-var", "max_capacity=4"]);
  });

  test("examples/complete.tfvars plans the whole stack: pipeline, Fargate service, HTTPS ALB, ECR, autoscaling", {
    skip,
  }, async () => {
    const r = await full;
    assert.equal(r.code, 0, `terraform plan failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
    for (const address of [
      "aws_kinesis_firehose_delivery_stream.records",
      "aws_s3_bucket_lifecycle_configuration.data[0]",
      "module.service[0].aws_ecs_service.app",
      "module.service[0].aws_ecs_task_definition.app",
      "module.service[0].aws_lb_listener.https",
      "module.service[0].aws_lb_listener_rule.webhooks",
      "aws_ecr_repository.app[0]",
      "module.service[0].aws_appautoscaling_policy.cpu",
      'aws_cloudwatch_metric_alarm.this["data_freshness"]',
      "aws_cloudwatch_dashboard.main[0]",
      'aws_glue_catalog_table.entity["responses"]',
      'aws_athena_named_query.example["nps_by_week"]',
      'aws_athena_named_query.example["detractor_comments_last_7_days"]',
      'aws_glue_catalog_table.current["responses"]',
    ]) {
      assert.ok(r.stdout.includes(`# ${address} will be created`), `plan creates ${address}`);
    }
    assert.match(r.stdout, /webhook_url\s+= "https:\/\/wootric-hooks\.example\.com\/webhooks\/wootric"/);
    assert.match(r.stdout, /SHUTDOWN_TIMEOUT_MS\s+= "110000"/, "the service drains within the ECS stop timeout");
    assert.match(r.stdout, /EMF_METRICS\s+= "true"/, "the service publishes its metrics to CloudWatch");
    const target = r.stdout.slice(r.stdout.indexOf("module.service[0].aws_appautoscaling_target.app will be created"));
    assert.match(target.slice(0, 2000), /min_capacity\s+= 2/, "two tasks (two AZs) with an ephemeral spool");
  });

  test("the planned alarms catch each silent failure, with the treat_missing_data it needs", { skip }, async () => {
    assert.equal((await full).code, 0);
    const show = await runTerraform(["show", "-json", "-no-color", "full.tfplan"], dir, env, 300_000);
    assert.equal(show.code, 0, show.stderr);
    const planJson = JSON.parse(show.stdout) as {
      resource_changes: {
        type: string;
        index?: string;
        change: { after: Record<string, unknown>; after_unknown: Record<string, unknown> };
      }[];
    };
    const alarms = new Map(
      planJson.resource_changes
        .filter((r) => r.type === "aws_cloudwatch_metric_alarm")
        .map((r): [string, Record<string, unknown>] => [
          String(r.index),
          { ...r.change.after, unknown: r.change.after_unknown },
        ]),
    );
    for (const sf of SILENT_FAILURES) {
      const a = alarms.get(sf.alarm);
      assert.ok(a, `${sf.failure}: alarm ${sf.alarm} is planned`);
      assert.equal(a.treat_missing_data, sf.treatMissing, sf.alarm);
      const queries = (a.metric_query ?? []) as { metric?: { metric_name: string; namespace: string }[] }[];
      const read = [a.metric_name, ...queries.flatMap((q) => (q.metric ?? []).map((m) => m.metric_name))];
      // metric math on the load balancer is unknown until the ALB exists (its arn_suffix); the HCL test covers it
      const unknownQueries = (a.unknown as Record<string, unknown>).metric_query === true;
      if (!unknownQueries)
        for (const m of sf.metrics) assert.ok(read.includes(m), `${sf.alarm} reads ${m}: ${JSON.stringify(a)}`);
      if (sf.emf) {
        assert.equal(a.namespace, "WootricFirehose");
        assert.equal((a.dimensions as Record<string, string>).Service, "wootric-firehose");
      }
      assert.deepEqual(a.alarm_actions, a.ok_actions);
    }
    for (const stream of ["end_users", "responses", "declines", "segments", "survey_templates", "nps_summary"])
      assert.ok(alarms.has(`poller_stale_${stream}`), stream);
  });

  test("an EFS spool with more than one task is refused by a precondition", { skip }, async () => {
    const r = await efsWithScaling;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spool_storage = "efs" needs max_capacity = 1/);
  });
});
