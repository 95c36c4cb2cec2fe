locals {
  create_alarm_topic = var.create_alarms && var.alarm_sns_topic_arn == null
  alarm_topic_arn    = var.alarm_sns_topic_arn != null ? var.alarm_sns_topic_arn : one(aws_sns_topic.alarms[*].arn)
  alarm_actions      = local.alarm_topic_arn == null || !var.create_alarms ? [] : [local.alarm_topic_arn]
  firehose_dimension = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.records.name }
}

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = local.create_alarm_topic ? toset(var.alarm_emails) : toset([])

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "data_freshness" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.stream_name}-data-freshness"
  alarm_description   = "Records wait in Firehose longer than ${var.alarm_data_freshness_seconds} s: delivery to S3 is stuck (see the ${aws_cloudwatch_log_group.firehose.name} log group)."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.DataFreshness"
  dimensions          = local.firehose_dimension
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_data_freshness_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "delivery_failures" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.stream_name}-delivery-failures"
  alarm_description   = "Firehose failed to put objects into S3 (DeliveryToS3.Success below 1); records retry, then go to the error prefix."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.Success"
  dimensions          = local.firehose_dimension
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "throttled_records" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.stream_name}-throttled-records"
  alarm_description   = "Firehose throttled incoming records: the service retries them, but sustained throttling means the stream quota is too low."
  namespace           = "AWS/Firehose"
  metric_name         = "ThrottledRecords"
  dimensions          = local.firehose_dimension
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "partition_count_exceeded" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.stream_name}-partition-count-exceeded"
  alarm_description   = "More active dynamic partitions than the stream allows: records go to the error prefix (activePartitionExceeded)."
  namespace           = "AWS/Firehose"
  metric_name         = "PartitionCountExceeded"
  dimensions          = local.firehose_dimension
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
