import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DescribeDeliveryStreamCommand, FirehoseClient } from "@aws-sdk/client-firehose";
import {
  DeleteBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { CURRENT_VIEW_TABLES, type CurrentViewTable, currentViewSql } from "../../src/records/athena-views.js";
import { glueTables } from "../../src/records/glue-columns.js";
import { startServe } from "../helpers/cli.js";
import { eventually } from "../helpers/eventually.js";
import { type Moto, motoMissingReason, startMoto } from "../helpers/moto.js";
import { prepareTerraformCopy, runTerraform, terraformMissingReason } from "../helpers/terraform.js";
import { postWebhook, responseWebhook } from "../helpers/webhook.js";

/**
 * `terraform apply` of terraform/ against moto, the built service writing through the created stream into the created
 * bucket, then `terraform destroy`. Switched off for moto (see the -var list): the compute layer (ECS/ALB/ECR),
 * lifecycle rules (moto omits the x-amz-transition-default-minimum-object-size header the provider waits for), S3
 * request metrics (moto 5.2.1 answers DeleteBucketMetricsConfiguration with BucketNotEmpty) and
 * Athena named queries (moto never deletes them). terraform-plan.test.ts plans the full configuration;
 * terraform-security.test.ts and tfcheck check it statically.
 */

const TERRAFORM_DIR = fileURLToPath(new URL("../../terraform/", import.meta.url));
const skip = terraformMissingReason() ?? motoMissingReason();
const SECRET = "apply-test-secret";
const TF_TIMEOUT_MS = 300_000; // a deadline, not a wait: under a loaded machine apply of ~80 resources takes minutes

const VARS = [
  "aws_region=us-east-1",
  "name_prefix=wf-apply-test",
  "create_service=false",
  "manage_lifecycle_rules=false",
  "create_named_queries=false",
  "error_prefix_metrics=false",
  "force_destroy=true",
  "secret_recovery_window_days=0",
  `wootric_webhook_secret=${SECRET}`,
].flatMap((v) => ["-var", v]);

interface TfState {
  outputs: Record<string, { value: unknown }>;
  resources: { type: string; instances: { index_key?: string; attributes: Record<string, unknown> }[] }[];
}

describe("terraform apply against moto: webhook → Firehose stream → S3 bucket", { timeout: 900_000 }, () => {
  let moto: Moto;
  let work: string;
  let tfDir: string;
  let tfEnv: Record<string, string>;
  let s3: S3Client;
  let firehose: FirehoseClient;
  let state: TfState;
  let outputs: Record<string, { value: unknown }> = {};
  let applied = false;
  const timings: string[] = [];

  before(async () => {
    if (skip) return;
    moto = await startMoto();
    work = await mkdtemp(join(tmpdir(), "wf-tf-apply-"));
    // A copy of the module's own files: never a .terraform dir or state in the repo.
    ({ dir: tfDir, env: tfEnv } = await prepareTerraformCopy(TERRAFORM_DIR, work, moto.endpoint));
    const common = {
      region: "us-east-1",
      endpoint: moto.endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    };
    s3 = new S3Client({
      ...common,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    firehose = new FirehoseClient(common);
  });

  after(async () => {
    if (skip) return;
    if (applied) {
      // Best effort when a test failed before the destroy test ran.
      await runTerraform(
        ["destroy", "-auto-approve", "-refresh=false", "-no-color", ...VARS],
        tfDir,
        tfEnv,
        TF_TIMEOUT_MS,
      );
    }
    s3?.destroy();
    firehose?.destroy();
    await moto?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    if (timings.length) console.log(`terraform timings: ${timings.join(", ")}`);
  });

  test("terraform init + apply create the pipeline", { skip }, async () => {
    const init = await runTerraform(["init", "-input=false", "-no-color"], tfDir, tfEnv, TF_TIMEOUT_MS);
    timings.push(`init ${init.ms} ms`);
    assert.equal(init.code, 0, `terraform init failed:\n${init.stdout}\n${init.stderr}`);

    const apply = await runTerraform(
      ["apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", ...VARS],
      tfDir,
      tfEnv,
      TF_TIMEOUT_MS,
    );
    applied = true;
    timings.push(`apply ${apply.ms} ms`);
    assert.equal(apply.code, 0, `terraform apply failed:\n${apply.stdout.slice(-4000)}\n${apply.stderr}`);

    // Outputs and resources straight from the local state file (a `terraform output`/`show` run costs seconds each).
    state = JSON.parse(await readFile(join(tfDir, "terraform.tfstate"), "utf8")) as TfState;
    outputs = state.outputs;
    assert.equal(outputs.firehose_stream_name?.value, "wf-apply-test");
    assert.equal(outputs.bucket_name?.value, "wf-apply-test-123456789012-us-east-1");
    assert.equal(outputs.webhook_url?.value ?? null, null, "no compute, no URL (terraform omits null outputs)");
  });

  test("the bucket is private, encrypted, versioned and TLS-only; the stream partitions by entity and date", {
    skip,
  }, async (t) => {
    if (!applied) return t.skip("apply did not run");
    const Bucket = outputs.bucket_name!.value as string;

    const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    assert.deepEqual(pab.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
    assert.equal(
      enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      "AES256",
    );
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket }));
    assert.equal(ver.Status, "Enabled");
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy!) as {
      Statement: { Effect: string; Condition?: { Bool?: Record<string, string> } }[];
    };
    assert.ok(
      policy.Statement.some((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"),
    );

    const desc = await firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: outputs.firehose_stream_name!.value as string }),
    );
    const dest = desc.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription;
    assert.equal(dest?.Prefix, "wootric/entity=!{partitionKeyFromQuery:entity}/dt=!{partitionKeyFromQuery:dt}/");
    assert.match(dest?.ErrorOutputPrefix ?? "", /!\{firehose:error-output-type\}/);
    assert.equal(dest?.CompressionFormat, "GZIP");
    assert.equal(dest?.DynamicPartitioningConfiguration?.Enabled, true);
    const processors = dest?.ProcessingConfiguration?.Processors?.map((p) => p.Type);
    assert.deepEqual(processors, ["RecordDeAggregation", "MetadataExtraction", "AppendDelimiterToRecord"]);

    // The Glue tables were created with the columns generated from the record schemas.
    const tables = state.resources.find(
      (r) => r.type === "aws_glue_catalog_table" && (r as { name?: string }).name === "entity",
    )!.instances;
    const expected = glueTables();
    assert.deepEqual(tables.map((r) => r.index_key).sort(), Object.keys(expected).sort());
    for (const table of tables) {
      const sd = (table.attributes.storage_descriptor as { columns: { name: string; type: string }[] }[])[0]!;
      assert.deepEqual(
        sd.columns.map((c) => `${c.name}:${c.type}`),
        expected[table.index_key!]!.columns.map((c) => `${c.name}:${c.type}`),
        `columns of ${table.index_key}`,
      );
    }

    // The current-state views are Glue VIRTUAL_VIEW tables whose Presto view text decodes to their SQL.
    const views = state.resources.find(
      (r) => r.type === "aws_glue_catalog_table" && (r as { name?: string }).name === "current",
    )!.instances;
    assert.deepEqual(views.map((v) => v.index_key).sort(), [...CURRENT_VIEW_TABLES].sort());
    for (const v of views) {
      assert.equal(v.attributes.table_type, "VIRTUAL_VIEW");
      const text = String(v.attributes.view_original_text);
      const m = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(text);
      assert.ok(m, text.slice(0, 80));
      const def = JSON.parse(Buffer.from(m[1]!, "base64").toString("utf8")) as { originalSql: string; schema: string };
      assert.equal(def.originalSql, currentViewSql(v.index_key as CurrentViewTable).trim());
      assert.equal(def.schema, outputs.glue_database_name?.value);
    }
  });

  /**
   * moto enforces a bucket policy's Deny on object reads but ignores its conditions, so the TLS-only statement denies
   * every read. The first read proves the deny is in force; then the policy is removed so the test can read.
   */
  let policyRemoved = false;
  async function readObject(Bucket: string, Key: string): Promise<string> {
    if (!policyRemoved) {
      await assert.rejects(
        s3.send(new GetObjectCommand({ Bucket, Key })),
        (e: { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(e.$metadata?.httpStatusCode, 403, "the TLS-only bucket policy denies the plain-HTTP read");
          return true;
        },
      );
      await s3.send(new DeleteBucketPolicyCommand({ Bucket }));
      policyRemoved = true;
    }
    return (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
  }

  test("a signed webhook posted to the built service lands in the created bucket", { skip }, async (t) => {
    if (!applied) return t.skip("apply did not run");
    const Bucket = outputs.bucket_name!.value as string;
    const appEnv = outputs.app_environment!.value as Record<string, string>;
    const cli = await startServe({
      ...moto.env,
      FIREHOSE_STREAM_NAME: outputs.firehose_stream_name!.value as string,
      STATE_URL: appEnv.STATE_URL!,
      DEAD_LETTER_URL: appEnv.DEAD_LETTER_URL!,
      WOOTRIC_WEBHOOK_SECRET: SECRET,
      DATA_DIR: join(work, "data"),
      SPOOL_DIR: join(work, "spool"),
      FIREHOSE_LINGER_MS: "20",
    });
    try {
      const id = 424242;
      const res = await postWebhook(cli.baseUrl, responseWebhook(id), { secret: SECRET });
      assert.equal(res.status, 200, res.body);

      // moto writes one object per PutRecordBatch, synchronously, leaving the prefix expressions unevaluated.
      const hit = await eventually(
        async () => {
          const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "wootric/" }));
          for (const o of list.Contents ?? []) {
            const body = await readObject(Bucket, o.Key!);
            for (const line of body.split("\n").filter((l) => l.trim() !== "")) {
              const env = JSON.parse(line) as Record<string, unknown>;
              if (env.entity === "response" && env.id === id) return { env, key: o.Key! };
            }
          }
          return undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: `webhook ${id} in the bucket` },
      ).catch(() => undefined);
      const found = hit?.env;
      const key = hit?.key ?? "";
      assert.ok(
        found,
        `record ${id} did not appear under s3://${Bucket}/wootric/ within 20 s:\n${cli.output().slice(-3000)}`,
      );
      assert.ok(key.startsWith("wootric/entity=!{partitionKeyFromQuery:entity}/"), key);
      assert.equal(found.source, "webhook");
      assert.equal(found.event_name, "created");
      assert.equal((found.data as Record<string, unknown>).score, id % 11);
      assert.match(found.dedup_key as string, /^response:424242:\d+$/);
    } finally {
      assert.equal(await cli.stop("SIGTERM"), 0, cli.output().slice(-3000));
    }
  });

  test("terraform destroy removes everything", { skip }, async (t) => {
    if (!applied) return t.skip("apply did not run");
    const Bucket = outputs.bucket_name!.value as string;
    const destroy = await runTerraform(
      ["destroy", "-auto-approve", "-refresh=false", "-input=false", "-no-color", "-parallelism=20", ...VARS],
      tfDir,
      tfEnv,
      TF_TIMEOUT_MS,
    );
    timings.push(`destroy ${destroy.ms} ms`);
    assert.equal(destroy.code, 0, `terraform destroy failed:\n${destroy.stdout.slice(-4000)}\n${destroy.stderr}`);
    applied = false;
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket })), "the bucket is gone");
    await assert.rejects(
      firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: outputs.firehose_stream_name!.value as string }),
      ),
      "the stream is gone",
    );
  });
});
