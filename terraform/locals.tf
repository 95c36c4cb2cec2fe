data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  bucket_name        = coalesce(var.bucket_name, "${var.name_prefix}-${local.account_id}-${var.aws_region}")
  stream_name        = coalesce(var.firehose_stream_name, var.name_prefix)
  glue_database_name = coalesce(var.glue_database_name, replace(var.name_prefix, "-", "_"))

  kms_enabled = var.kms_key_arn != null

  # Value of the Service dimension of the service's EMF metrics.
  metrics_service_name = var.name_prefix

  # S3 layout: records through Firehose dynamic partitioning, errors and oversize records beside them.
  data_prefix        = var.data_prefix
  firehose_error_dir = "${var.error_prefix}/firehose"
  dead_letter_prefix = "${var.error_prefix}/oversize"
  state_prefix       = var.state_prefix
  athena_prefix      = var.athena_results_prefix

  # One Glue table per entity; columns generated from the zod record schemas (npm run gen:glue).
  glue_tables = jsondecode(file("${path.module}/glue-columns.json"))

  # One current-state view per entity table; columns and SQL generated the same way (sql/views/<view>.sql).
  athena_views = jsondecode(file("${path.module}/athena-views.json"))

  # Everything the service needs besides secrets, for ECS or for your own compute.
  app_environment = merge(
    {
      AWS_REGION           = var.aws_region
      FIREHOSE_STREAM_NAME = aws_kinesis_firehose_delivery_stream.records.name
      STATE_URL            = "s3://${aws_s3_bucket.data.id}/${local.state_prefix}"
      DEAD_LETTER_URL      = "s3://${aws_s3_bucket.data.id}/${local.dead_letter_prefix}"
      WOOTRIC_REGION       = var.wootric_region
      POLL_CRON            = var.poll_cron
      SPOOL_MAX_BYTES      = tostring(var.spool_max_bytes)
      SHUTDOWN_TIMEOUT_MS  = tostring((var.stop_timeout_seconds - 10) * 1000)
      LOG_LEVEL            = var.log_level
      LOG_FORMAT           = "json"
      # CloudWatch metrics as Embedded Metric Format lines on stdout (read by the alarms and the dashboard)
      EMF_METRICS      = "true"
      EMF_NAMESPACE    = var.metrics_namespace
      EMF_SERVICE_NAME = local.metrics_service_name
    },
    var.sync_start_date == null ? {} : { SYNC_START_DATE = var.sync_start_date },
    # No per-task byte limit by default: the tasks share the stream's quota adaptively. Set only as a ceiling.
    var.firehose_max_bytes_per_second == null ? {} : { FIREHOSE_MAX_BYTES_PER_SECOND = tostring(var.firehose_max_bytes_per_second) },
    var.extra_environment,
  )
}
