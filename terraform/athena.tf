resource "aws_athena_workgroup" "wootric" {
  name          = var.name_prefix
  description   = "Queries over the Wootric tables in ${local.glue_database_name}"
  force_destroy = var.force_destroy

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${aws_s3_bucket.data.id}/${local.athena_prefix}/"

      encryption_configuration {
        encryption_option = local.kms_enabled ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

# Example queries over the current-state views, one per file in sql/queries/ (the first line, a comment, is the
# description). test/integration/athena-sql.test.ts parses them as Trino SQL and runs them over landed files.
locals {
  named_queries = { for f in fileset("${path.module}/sql/queries", "*.sql") : trimsuffix(f, ".sql") => file("${path.module}/sql/queries/${f}") }
}

resource "aws_athena_named_query" "example" {
  for_each = var.create_named_queries ? local.named_queries : {}

  name        = replace(each.key, "_", "-")
  description = substr(trimprefix(split("\n", each.value)[0], "-- "), 0, 1024)
  workgroup   = aws_athena_workgroup.wootric.id
  database    = aws_glue_catalog_database.wootric.name
  query       = each.value

  # The queries read the views.
  depends_on = [aws_glue_catalog_table.current]
}
