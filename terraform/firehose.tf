resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${local.stream_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "firehose_delivery" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

# Each Firehose record holds up to 500 newline-terminated JSON envelopes (the producer packs them to save PUT
# payload units). Firehose de-aggregates them, reads the partition keys of each envelope with JQ, appends a newline
# and lands them under <data_prefix>/entity=<entity>/dt=<received_at date>/ as gzip JSON lines.
resource "aws_kinesis_firehose_delivery_stream" "records" {
  name        = local.stream_name
  destination = "extended_s3"

  dynamic "server_side_encryption" {
    for_each = var.firehose_server_side_encryption ? [1] : []
    content {
      enabled  = true
      key_type = local.kms_enabled ? "CUSTOMER_MANAGED_CMK" : "AWS_OWNED_CMK"
      key_arn  = var.kms_key_arn
    }
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = aws_s3_bucket.data.arn
    prefix              = "${local.data_prefix}/entity=!{partitionKeyFromQuery:entity}/dt=!{partitionKeyFromQuery:dt}/"
    error_output_prefix = "${local.firehose_error_dir}/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    buffering_size      = var.firehose_buffering_size_mb
    buffering_interval  = var.firehose_buffering_interval_seconds
    compression_format  = "GZIP"
    file_extension      = ".json.gz"
    kms_key_arn         = var.kms_key_arn
    s3_backup_mode      = "Disabled"

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose_delivery.name
    }

    dynamic_partitioning_configuration {
      enabled        = true
      retry_duration = var.firehose_dynamic_partitioning_retry_seconds
    }

    processing_configuration {
      enabled = true

      processors {
        type = "RecordDeAggregation"

        parameters {
          parameter_name  = "SubRecordType"
          parameter_value = "JSON"
        }
      }

      processors {
        type = "MetadataExtraction"

        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }

        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = "{entity:.entity,dt:.received_at[0:10]}"
        }
      }

      processors {
        type = "AppendDelimiterToRecord"
      }
    }
  }

  # The role's policy must exist before Firehose validates access to the bucket.
  depends_on = [aws_iam_role_policy.firehose]
}
