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

resource "aws_athena_named_query" "nps_by_week" {
  count = var.create_named_queries ? 1 : 0

  name        = "nps-by-week"
  description = "NPS per ISO week from responses, latest version of each response only"
  workgroup   = aws_athena_workgroup.wootric.id
  database    = aws_glue_catalog_database.wootric.name
  query       = <<-SQL
    WITH latest AS (
      SELECT id, data.score AS score, data.excluded_from_calculations AS excluded,
             from_iso8601_timestamp(created_at) AS created,
             row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, received_at DESC) AS rn
      FROM responses
      WHERE dt >= '2024-01-01'
    )
    SELECT date_trunc('week', created) AS week,
           count(*) AS responses,
           round(100.0 * (count_if(score >= 9) - count_if(score <= 6)) / count(*), 1) AS nps
    FROM latest
    WHERE rn = 1 AND score IS NOT NULL AND NOT coalesce(excluded, false)
    GROUP BY 1
    ORDER BY 1
  SQL
}

resource "aws_athena_named_query" "dedup_responses" {
  count = var.create_named_queries ? 1 : 0

  name        = "responses-deduplicated"
  description = "One row per response version (webhook and poll deliveries of the same version share dedup_key)"
  workgroup   = aws_athena_workgroup.wootric.id
  database    = aws_glue_catalog_database.wootric.name
  query       = <<-SQL
    SELECT *
    FROM (
      SELECT r.*, row_number() OVER (PARTITION BY dedup_key ORDER BY received_at) AS rn
      FROM responses r
    )
    WHERE rn = 1
  SQL
}
