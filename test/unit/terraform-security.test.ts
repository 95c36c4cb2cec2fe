import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  type Block,
  blocks,
  loadTerraformConfig,
  one,
  statementsOf,
  TERRAFORM_DIR,
  type TerraformConfig,
} from "../helpers/terraform-config.js";

/** Security and wiring properties of terraform/, read from the parsed HCL (no provider, no AWS). */

let tf: TerraformConfig;
/** terraform/modules/service: the compute layer. */
let svc: TerraformConfig;
const sres = (type: string, name: string): Block => {
  const b = svc.resource[type]?.[name];
  assert.ok(b, `modules/service: resource ${type}.${name} is declared`);
  return b;
};
const res = (type: string, name: string): Block => {
  const b = tf.resource[type]?.[name];
  assert.ok(b, `resource ${type}.${name} is declared`);
  return b;
};
const doc = (name: string): Block => {
  const b = tf.data.aws_iam_policy_document?.[name];
  assert.ok(b, `data.aws_iam_policy_document.${name} is declared`);
  return b;
};

before(async () => {
  tf = await loadTerraformConfig();
  svc = await loadTerraformConfig(join(TERRAFORM_DIR, "modules", "service"));
});

describe("versions", () => {
  test("Terraform >= 1.9 (validations across variables) and hashicorp/aws >= 5.100, < 7.0", () => {
    const t = tf.terraform.find((b) => b.required_version !== undefined);
    assert.ok(t);
    assert.equal(t.required_version, ">= 1.9");
    const providers = (t.required_providers as Block[])[0]!;
    assert.deepEqual(providers.aws, { source: "hashicorp/aws", version: ">= 5.100, < 7.0" });
  });

  test("examples/complete.tfvars lists every variable, keeps the whole history and marks what to edit", () => {
    const example = readFileSync(join(TERRAFORM_DIR, "examples", "complete.tfvars"), "utf8");
    for (const name of Object.keys(tf.variable)) assert.match(example, new RegExp(`^${name}\\s+=`, "m"), name);
    assert.match(example, /^sync_start_date\s+= null/m);
    assert.ok((example.match(/# EDIT/g) ?? []).length >= 8);
  });

  test("every variable has a type and a description, every output a description", () => {
    for (const [name, v] of Object.entries(tf.variable)) {
      assert.ok(v.type, `variable ${name} has a type`);
      assert.ok(typeof v.description === "string" && v.description.length > 10, `variable ${name} has a description`);
    }
    for (const [name, o] of Object.entries(tf.output)) {
      assert.ok(typeof o.description === "string" && o.description.length > 10, `output ${name} has a description`);
    }
  });
});

describe("S3 bucket", () => {
  test("public access is blocked on all four settings", () => {
    const pab = res("aws_s3_bucket_public_access_block", "data");
    assert.equal(pab.bucket, "${aws_s3_bucket.data.id}");
    for (const k of ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]) {
      assert.equal(pab[k], true, k);
    }
  });

  test("bucket owner enforced (ACLs disabled)", () => {
    const oc = res("aws_s3_bucket_ownership_controls", "data");
    assert.equal(one(oc, "rule").object_ownership, "BucketOwnerEnforced");
  });

  test("the bucket policy denies every request without TLS", () => {
    const policy = res("aws_s3_bucket_policy", "data");
    assert.equal(policy.policy, "${data.aws_iam_policy_document.bucket.json}");
    const deny = statementsOf(doc("bucket")).find((s) => s.effect === "Deny");
    assert.ok(deny, "a Deny statement");
    assert.deepEqual(deny.actions, ["s3:*"]);
    assert.deepEqual(deny.resources.sort(), ["${aws_s3_bucket.data.arn}", "${aws_s3_bucket.data.arn}/*"]);
    assert.deepEqual(one(deny.raw, "principals"), { type: "*", identifiers: ["*"] });
    assert.deepEqual(one(deny.raw, "condition"), { test: "Bool", variable: "aws:SecureTransport", values: ["false"] });
  });

  test("default encryption: SSE-KMS with the given key, SSE-S3 otherwise", () => {
    const sse = res("aws_s3_bucket_server_side_encryption_configuration", "data");
    const byDefault = one(one(sse, "rule"), "apply_server_side_encryption_by_default");
    assert.equal(byDefault.sse_algorithm, '${local.kms_enabled ? "aws:kms" : "AES256"}');
    assert.equal(byDefault.kms_master_key_id, "${var.kms_key_arn}");
  });

  test("versioning is enabled", () => {
    const v = res("aws_s3_bucket_versioning", "data");
    assert.equal(one(v, "versioning_configuration").status, "Enabled");
  });

  test("lifecycle: error objects transition and expire, non-current versions and Athena results expire", () => {
    const lc = res("aws_s3_bucket_lifecycle_configuration", "data");
    const rules = blocks(lc, "rule");
    const byId = Object.fromEntries(rules.map((r) => [r.id as string, r]));
    assert.equal(one(byId.errors, "filter").prefix, "${var.error_prefix}/");
    assert.equal(one(byId.errors, "transition").storage_class, "STANDARD_IA");
    assert.equal(one(byId.errors, "expiration").days, "${expiration.value}");
    assert.ok(blocks(byId["athena-results"], "expiration").length === 1);
    assert.ok(
      rules.some((r) => blocks(r, "noncurrent_version_expiration").length === 1),
      "non-current versions expire",
    );
    assert.equal(tf.variable.manage_lifecycle_rules?.default, true, "lifecycle rules are on by default");
  });
});

describe("Firehose delivery stream", () => {
  let s3: Block;
  let stream: Block;
  before(() => {
    stream = res("aws_kinesis_firehose_delivery_stream", "records");
    s3 = one(stream, "extended_s3_configuration");
  });

  test("extended_s3 with GZIP, .json.gz, CloudWatch logging", () => {
    assert.equal(stream.destination, "extended_s3");
    assert.equal(s3.compression_format, "GZIP");
    assert.equal(s3.file_extension, ".json.gz");
    const logging = one(s3, "cloudwatch_logging_options");
    assert.equal(logging.enabled, true);
    assert.equal(logging.log_group_name, "${aws_cloudwatch_log_group.firehose.name}");
  });

  test("dynamic partitioning on entity and the received_at date, with error_output_prefix", () => {
    assert.equal(one(s3, "dynamic_partitioning_configuration").enabled, true);
    assert.equal(
      s3.prefix,
      "${local.data_prefix}/entity=!{partitionKeyFromQuery:entity}/dt=!{partitionKeyFromQuery:dt}/",
    );
    assert.match(String(s3.error_output_prefix), /!\{firehose:error-output-type\}/);
    assert.doesNotMatch(String(s3.prefix), /error-output-type/);
  });

  test("processors: JSON de-aggregation (producer packs many lines per record), JQ keys, newline delimiter", () => {
    const pc = one(s3, "processing_configuration");
    assert.equal(pc.enabled, true);
    const processors = blocks(pc, "processors");
    assert.deepEqual(
      processors.map((p) => p.type),
      ["RecordDeAggregation", "MetadataExtraction", "AppendDelimiterToRecord"],
    );
    const params = (p: Block) =>
      Object.fromEntries(blocks(p, "parameters").map((x) => [x.parameter_name as string, x.parameter_value as string]));
    assert.deepEqual(params(processors[0]!), { SubRecordType: "JSON" });
    assert.deepEqual(params(processors[1]!), {
      JsonParsingEngine: "JQ-1.6",
      MetadataExtractionQuery: "{entity:.entity,dt:.received_at[0:10]}",
    });
  });

  test("buffering within the dynamic-partitioning minimums, server-side encryption on by default", () => {
    assert.equal(s3.buffering_size, "${var.firehose_buffering_size_mb}");
    assert.equal(s3.buffering_interval, "${var.firehose_buffering_interval_seconds}");
    assert.equal(tf.variable.firehose_buffering_size_mb?.default, 64);
    assert.equal(tf.variable.firehose_buffering_interval_seconds?.default, 60);
    const sse = blocks(stream, "server_side_encryption");
    assert.equal(sse.length, 1);
    assert.equal(sse[0]!.enabled, true);
    assert.equal(sse[0]!.key_type, '${local.kms_enabled ? "CUSTOMER_MANAGED_CMK" : "AWS_OWNED_CMK"}');
    assert.equal(tf.variable.firehose_server_side_encryption?.default, true);
  });
});

describe("IAM", () => {
  test("every role policy is a policy document (so the checks below see all of them)", () => {
    for (const [name, p] of Object.entries(tf.resource.aws_iam_role_policy ?? {})) {
      assert.match(
        String(p.policy),
        /^\$\{data\.aws_iam_policy_document\.[a-z_]+(\[0\])?\.json\}$/,
        `aws_iam_role_policy.${name}`,
      );
    }
    assert.equal(tf.resource.aws_iam_policy, undefined, "no standalone policies");
    assert.equal(
      tf.resource.aws_iam_role_policy_attachment,
      undefined,
      "no managed policies (their actions are not checked here)",
    );
  });

  test("no wildcard actions in any Allow statement", () => {
    for (const [name, d] of Object.entries(tf.data.aws_iam_policy_document ?? {})) {
      for (const s of statementsOf(d).filter((x) => x.effect === "Allow")) {
        for (const a of s.actions) assert.match(a, /^[a-z0-9-]+:[A-Za-z0-9]+$/, `${name}: action ${a}`);
      }
    }
  });

  test('"*" resources only where AWS allows nothing narrower (ecr:GetAuthorizationToken)', () => {
    const docs = { ...tf.data.aws_iam_policy_document, ...svc.data.aws_iam_policy_document };
    for (const [name, d] of Object.entries(docs)) {
      for (const s of statementsOf(d).filter((x) => x.effect === "Allow" && x.resources.includes("*"))) {
        assert.deepEqual(s.actions, ["ecr:GetAuthorizationToken"], `${name}: "*" resource for ${s.actions.join(", ")}`);
      }
    }
  });

  test("the application role may only put into this stream, use its state prefix, write oversize records, read its secrets", () => {
    const app = statementsOf(doc("app"));
    for (const s of app) {
      assert.equal(s.effect, "Allow");
      assert.ok(
        s.resources.length > 0 && !s.resources.some((r) => r.includes("*") && !r.endsWith("/*")),
        `${s.raw.sid} resources`,
      );
    }
    const bySid = Object.fromEntries(app.map((s) => [s.raw.sid as string, s]));
    assert.deepEqual(bySid.PutRecords?.actions.sort(), [
      "firehose:DescribeDeliveryStream",
      "firehose:PutRecord",
      "firehose:PutRecordBatch",
    ]);
    assert.deepEqual(bySid.PutRecords?.resources, ["${aws_kinesis_firehose_delivery_stream.records.arn}"]);
    assert.deepEqual(bySid.StateObjects?.actions.sort(), ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]);
    assert.deepEqual(bySid.StateObjects?.resources, ["${aws_s3_bucket.data.arn}/${local.state_prefix}/*"]);
    assert.deepEqual(bySid.OversizeRecords?.actions, ["s3:PutObject"]);
    assert.deepEqual(bySid.OversizeRecords?.resources, ["${aws_s3_bucket.data.arn}/${local.dead_letter_prefix}/*"]);
    assert.deepEqual(bySid.ListStatePrefix?.actions, ["s3:ListBucket"]);
    assert.deepEqual(bySid.ReadOwnSecrets?.actions, ["secretsmanager:GetSecretValue"]);
    assert.deepEqual(bySid.ReadOwnSecrets?.resources, ["${local.secret_arns}"]);
    const all = new Set(app.flatMap((s) => s.actions));
    const allowed = new Set([
      "firehose:DescribeDeliveryStream",
      "firehose:PutRecord",
      "firehose:PutRecordBatch",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
      "s3:ListBucket",
      "secretsmanager:GetSecretValue",
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]);
    for (const a of all) assert.ok(allowed.has(a), `unexpected app action ${a}`);
  });

  test("the application role trusts services only on behalf of this account, and needs no KMS through Firehose", () => {
    const trust = statementsOf(doc("app_assume"));
    const services = trust.find((s) => s.raw.sid === "TrustedServices")!;
    const cond = one(services.raw, "condition");
    assert.equal(cond.variable, "aws:SourceAccount");
    assert.deepEqual(cond.values, ["${local.account_id}"]);
    const kms = statementsOf(doc("app")).find((s) => s.raw.sid === "UseKeyThroughServices")!;
    const via = one(kms.raw, "condition").values as string[];
    assert.ok(!via.some((v) => v.startsWith("firehose.")), "Firehose uses its own grant on the key");
    assert.ok(via.some((v) => v.startsWith("s3.")));
  });

  test("the Firehose role writes only the data and error prefixes of the bucket", () => {
    const fh = statementsOf(doc("firehose"));
    const objectLevel = fh.find((s) => s.actions.includes("s3:PutObject"));
    assert.deepEqual(objectLevel?.resources.sort(), [
      "${aws_s3_bucket.data.arn}/${local.data_prefix}/*",
      "${aws_s3_bucket.data.arn}/${local.firehose_error_dir}/*",
    ]);
    assert.ok(fh.every((s) => !s.actions.some((a) => a.startsWith("firehose:") || a.startsWith("iam:"))));
    const trust = one(doc("firehose_assume"), "statement");
    assert.deepEqual(one(trust, "principals").identifiers, ["firehose.amazonaws.com"]);
    assert.equal(one(trust, "condition").variable, "aws:SourceAccount");
  });
});

describe("Glue, Athena, secrets, alarms", () => {
  test("one Glue table per entity from glue-columns.json, with partition projection on entity and dt", () => {
    assert.equal(tf.locals.glue_tables, '${jsondecode(file("${path.module}/glue-columns.json"))}');
    const t = res("aws_glue_catalog_table", "entity");
    assert.equal(t.for_each, "${local.glue_tables}");
    const p = t.parameters as Record<string, string>;
    assert.equal(p["projection.enabled"], "true");
    assert.equal(p["projection.entity.type"], "enum");
    assert.equal(p["projection.dt.type"], "date");
    // Athena's partition projection property for a date's step unit is projection.<column>.interval.unit
    assert.equal(p["projection.dt.interval.unit"], "DAYS");
    for (const key of Object.keys(p))
      assert.match(
        key,
        /^(EXTERNAL|classification|storage\.location\.template|projection\.(enabled|entity\.(type|values)|dt\.(type|format|range|interval|interval\.unit)))$/,
        `unknown table property ${key}`,
      );
    assert.match(p["storage.location.template"]!, /entity=\$\$\{entity\}\/dt=\$\$\{dt\}\/$/);
    assert.deepEqual(
      blocks(t, "partition_keys").map((k) => k.name),
      ["entity", "dt"],
    );
    const sd = one(t, "storage_descriptor");
    const serde = one(sd, "ser_de_info");
    assert.equal(serde.serialization_library, "org.openx.data.jsonserde.JsonSerDe");
    // keys matched as written: custom properties differing only in case (Plan / plan) must not collide
    assert.equal((serde.parameters as Record<string, string>)["case.insensitive"], "false");
    assert.equal(blocks(sd, "columns").length, 1, "columns come from the dynamic block");
  });

  test("Athena workgroup enforces its result location", () => {
    const wg = res("aws_athena_workgroup", "wootric");
    const c = one(wg, "configuration");
    assert.equal(c.enforce_workgroup_configuration, true);
    assert.match(String(one(c, "result_configuration").output_location), /^s3:\/\/\$\{aws_s3_bucket\.data\.id\}\//);
  });

  test("secrets for the webhook secret and the API credentials reach the container", () => {
    res("aws_secretsmanager_secret", "webhook");
    res("aws_secretsmanager_secret", "api");
    const td = String(sres("aws_ecs_task_definition", "app").container_definitions);
    assert.match(td, /secrets\s*=\s*var\.container_secrets/);
    assert.match(tf.files["service.tf"]!, /container_secrets\s*=\s*local\.container_secrets/);
    assert.match(String(tf.locals.container_secrets), /WOOTRIC_WEBHOOK_SECRET/);
    assert.match(String(tf.locals.container_secrets), /WOOTRIC_CLIENT_ID/);
    assert.match(String(tf.locals.container_secrets), /WOOTRIC_CLIENT_SECRET/);
    assert.equal(tf.variable.wootric_webhook_secret?.sensitive, true);
  });

  test("alarms on data freshness and delivery failures, none on throttling (terraform-alarms.test.ts covers the rest)", () => {
    const firehose = tf.locals.firehose_alarms as Record<string, Record<string, unknown>>;
    const metrics = Object.values(firehose).map((a) => a.metric_name);
    for (const m of ["DeliveryToS3.DataFreshness", "DeliveryToS3.Success"]) {
      assert.ok(metrics.includes(m), `alarm on ${m}`);
    }
    // the adaptive producer is throttled on every backlog drain by design; drain_seconds watches the real trouble
    assert.ok(!metrics.includes("ThrottledRecords"), "no alarm on ThrottledRecords");
    assert.equal(res("aws_cloudwatch_metric_alarm", "this").alarm_actions, "${local.alarm_actions}");
    const success = Object.values(firehose).find((a) => a.metric_name === "DeliveryToS3.Success")!;
    assert.equal(success.comparison, "LessThanThreshold");
    assert.equal(success.threshold, 1);
  });
});

describe("compute (create_service)", () => {
  test("HTTPS-only ALB forwards POST /webhooks/wootric; targets are checked for liveness (/healthz), never replaced for being unready", () => {
    const listener = sres("aws_lb_listener", "https");
    assert.equal(listener.protocol, "HTTPS");
    assert.equal(listener.port, 443);
    assert.equal(listener.certificate_arn, "${var.certificate_arn}");
    assert.equal(Object.keys(svc.resource.aws_lb_listener ?? {}).length, 1, "no plain-HTTP listener");
    const rule = sres("aws_lb_listener_rule", "webhooks");
    const conds = blocks(rule, "condition");
    assert.deepEqual(
      one(
        conds.find((c) => c.path_pattern),
        "path_pattern",
      ).values,
      ["/webhooks/wootric"],
    );
    const tg = sres("aws_lb_target_group", "service");
    assert.equal(one(tg, "health_check").path, "/healthz");
    assert.equal(sres("aws_lb", "webhooks").drop_invalid_header_fields, true);
  });

  test("Fargate task: container health check, stop timeout for the SIGTERM flush, autoscaling", () => {
    const td = String(sres("aws_ecs_task_definition", "app").container_definitions);
    assert.match(td, /healthCheck\s*=/);
    assert.match(td, /\/healthz/);
    assert.match(td, /stopTimeout\s*=\s*var\.stop_timeout_seconds/);
    assert.match(
      String(tf.locals.app_environment),
      /SHUTDOWN_TIMEOUT_MS\s*=\s*tostring\(\(var\.stop_timeout_seconds - 10\) \* 1000\)/,
    );
    sres("aws_appautoscaling_target", "app");
    sres("aws_appautoscaling_policy", "cpu");
    // one switch: the module, not a count on every compute resource
    assert.match(
      tf.files["service.tf"]!,
      /module "service" \{\n\s+source = "\.\/modules\/service"\n\s+count\s+= var\.create_service \? 1 : 0/,
    );
    for (const [type, byName] of Object.entries(svc.resource))
      for (const [n, b] of Object.entries(byName))
        assert.ok(
          !String(b.count ?? b.for_each ?? "").includes("create_service"),
          `${type}.${n} has no create_service switch`,
        );
    for (const t of ["aws_ecs_service", "aws_lb", "aws_ecs_cluster", "aws_ecs_task_definition"])
      assert.equal(tf.resource[t], undefined, `${t} lives in modules/service`);
  });

  test("availability: two tasks by default with an ephemeral spool, one EFS mount target per AZ", () => {
    const locals = svc.locals;
    assert.equal(locals.min_capacity, "${coalesce(var.min_capacity, local.use_efs ? 1 : 2)}");
    const minVar = tf.variable.min_capacity!;
    assert.equal(minVar.default, null);
    assert.ok(
      (minVar.validation as Block[]).some((v) =>
        String(v.condition).includes('var.spool_storage == "efs" || try(var.min_capacity >= 2'),
      ),
    );
    const mt = sres("aws_efs_mount_target", "spool");
    assert.equal(mt.for_each, "${local.efs_subnet_per_az}");
    assert.match(String(locals.efs_subnet_per_az), /s\.availability_zone => s\.id\.\.\./);
  });

  test("the service is not created before its secrets have values", () => {
    const service = sres("aws_ecs_service", "app");
    const pre = (service.lifecycle as Block[])[0]!.precondition as Block[];
    assert.ok(pre.some((p) => p.condition === "${var.secrets_have_values}"));
    assert.match(tf.files["service.tf"]!, /data "aws_secretsmanager_secret_versions" "service"/);
    assert.match(tf.files["service.tf"]!, /secrets_have_values = local\.secrets_have_values/);
  });
});
