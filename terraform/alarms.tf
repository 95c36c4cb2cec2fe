# Every alarm is one entry of local.alarms and one instance of aws_cloudwatch_metric_alarm.this. treat_missing_data
# is chosen per alarm: where "no data" is itself the failure (the service stopped publishing, a poller that never
# succeeds) it is "breaching"; where no data means nothing happened (no 401s, no dead letters) it is "notBreaching".
# The service's own metrics arrive as CloudWatch Embedded Metric Format lines in its log group (EMF_METRICS=true).

locals {
  create_alarm_topic = var.create_alarms && var.alarm_sns_topic_arn == null
  alarm_topic_arn    = var.alarm_sns_topic_arn != null ? var.alarm_sns_topic_arn : one(aws_sns_topic.alarms[*].arn)
  alarm_actions      = local.alarm_topic_arn == null || !var.create_alarms ? [] : [local.alarm_topic_arn]
  firehose_dimension = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.records.name }
  service_dimension  = { Service = local.metrics_service_name }

  # Streams the poller runs (src/poller/streams.ts); one staleness alarm each.
  poller_streams = ["end_users", "responses", "declines", "segments", "survey_templates", "nps_summary"]

  # Firehose delivery: AWS/Firehose metrics exist only while records flow, so no data is no failure here.
  firehose_alarms = {
    data_freshness = {
      description        = "Records wait in Firehose longer than ${var.alarm_data_freshness_seconds} s: delivery to S3 is stuck (see the ${aws_cloudwatch_log_group.firehose.name} log group)."
      namespace          = "AWS/Firehose"
      metric_name        = "DeliveryToS3.DataFreshness"
      dimensions         = local.firehose_dimension
      statistic          = "Maximum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanThreshold"
      threshold          = var.alarm_data_freshness_seconds
      treat_missing_data = "notBreaching"
    }
    delivery_failures = {
      description         = "Firehose failed to put objects into S3 (DeliveryToS3.Success below 1); records retry, then go to the error prefix."
      namespace           = "AWS/Firehose"
      metric_name         = "DeliveryToS3.Success"
      dimensions          = local.firehose_dimension
      statistic           = "Minimum"
      period              = 300
      evaluation_periods  = 2
      datapoints_to_alarm = 2
      comparison          = "LessThanThreshold"
      threshold           = 1
      treat_missing_data  = "notBreaching"
    }
    partition_count_exceeded = {
      description        = "More active dynamic partitions than the stream allows: records go to the error prefix (activePartitionExceeded)."
      namespace          = "AWS/Firehose"
      metric_name        = "PartitionCountExceeded"
      dimensions         = local.firehose_dimension
      statistic          = "Maximum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = 1
      treat_missing_data = "notBreaching"
    }
    # Bytes per second put into the stream as a percentage of its quota (BytesPerSecondLimit, 1 or 5 MiB/s by region).
    # The producer sends AT the quota while it drains a backlog (it finds the quota by being throttled), so only a
    # stream near its limit in every period of a long window means the steady traffic itself outgrows the quota.
    incoming_bytes_near_limit = {
      description         = "IncomingBytes above ${var.alarm_incoming_bytes_percent} % of the stream's BytesPerSecondLimit in every 5 minutes for ${var.alarm_incoming_bytes_minutes} minutes: the steady traffic needs a higher Firehose quota. Brief peaks at the quota while the service drains a backlog are expected and do not alarm."
      comparison          = "GreaterThanThreshold"
      threshold           = var.alarm_incoming_bytes_percent
      period              = 300
      evaluation_periods  = ceil(var.alarm_incoming_bytes_minutes / 5)
      datapoints_to_alarm = ceil(var.alarm_incoming_bytes_minutes / 5)
      treat_missing_data  = "notBreaching"
      queries = [
        { id = "bytes", metric_name = "IncomingBytes", namespace = "AWS/Firehose", dimensions = local.firehose_dimension, stat = "Sum", expression = null, return_data = false },
        { id = "limit", metric_name = "BytesPerSecondLimit", namespace = "AWS/Firehose", dimensions = local.firehose_dimension, stat = "Maximum", expression = null, return_data = false },
        { id = "percent", metric_name = null, namespace = null, dimensions = null, stat = null, expression = "100 * (bytes / PERIOD(bytes)) / limit", return_data = true },
      ]
    }
  }

  error_prefix_alarms = {
    # S3 request metrics filtered on the Firehose error prefix (aws_s3_bucket_metric.firehose_errors).
    error_prefix_objects = {
      description        = "Firehose wrote objects under s3://${local.bucket_name}/${local.firehose_error_dir}/: records it could not partition or deliver. Inspect them and re-send (see docs/aws-operations.md)."
      namespace          = "AWS/S3"
      metric_name        = "PutRequests"
      dimensions         = { BucketName = aws_s3_bucket.data.id, FilterId = local.error_prefix_metric_filter }
      statistic          = "Sum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = 1
      treat_missing_data = "notBreaching"
    }
  }

  # The service's EMF metrics (namespace var.metrics_namespace, dimension Service).
  service_alarms = {
    # The heartbeat: the gauge is printed every EMF interval, so no data means no service (or no metrics) at all.
    producer_blocked = {
      description        = "The service cannot send to Firehose at all (wrong stream name, AccessDenied, KMS), or it publishes no metrics (not running). Records wait in the spool; /readyz says why."
      namespace          = var.metrics_namespace
      metric_name        = "ProducerBlocked"
      dimensions         = local.service_dimension
      statistic          = "Maximum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = 1
      treat_missing_data = "breaching"
    }
    spool_oldest_age = {
      description        = "A record acknowledged to Wootric has waited in a spool for more than ${var.alarm_spool_age_seconds} s without reaching Firehose."
      namespace          = var.metrics_namespace
      metric_name        = "SpoolOldestAgeSeconds"
      dimensions         = local.service_dimension
      statistic          = "Maximum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanThreshold"
      threshold          = var.alarm_spool_age_seconds
      treat_missing_data = "notBreaching"
    }
    # Replaces an alarm on AWS/Firehose ThrottledRecords > 0: the adaptive producer is throttled on every backlog
    # drain by design. A drain estimate that stays long is the trouble: the quota cannot empty the spool in time, or
    # the backlog grows faster than Firehose accepts it. Maximum: the worst task counts. No data = no spool metrics
    # (file sink, or no service: producer_blocked catches that).
    drain_seconds = {
      description         = "The spool's backlog needs more than ${var.alarm_drain_seconds} s to send at the rate Firehose accepts, for ${var.alarm_drain_periods * 5} minutes: the stream's quota cannot keep up (raise it, see docs/throughput.md), or the backlog keeps growing."
      namespace           = var.metrics_namespace
      metric_name         = "DrainSeconds"
      dimensions          = local.service_dimension
      statistic           = "Maximum"
      period              = 300
      evaluation_periods  = var.alarm_drain_periods
      datapoints_to_alarm = var.alarm_drain_periods
      comparison          = "GreaterThanThreshold"
      threshold           = var.alarm_drain_seconds
      treat_missing_data  = "notBreaching"
    }
    webhook_signature_failures = {
      description         = "Webhooks rejected with 401 for a missing or wrong signature: WOOTRIC_WEBHOOK_SECRET differs from Wootric's, and Wootric will give up on the endpoint."
      namespace           = var.metrics_namespace
      metric_name         = "SignatureFailures"
      dimensions          = local.service_dimension
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 2
      datapoints_to_alarm = 1
      comparison          = "GreaterThanOrEqualToThreshold"
      threshold           = var.alarm_webhook_401_count
      treat_missing_data  = "notBreaching"
    }
    webhook_503 = {
      description        = "The service answered webhooks with 503: the spool is full (SPOOL_MAX_BYTES) or cannot be written. Wootric retries for a while, then drops them; the poller fills the gap only when enabled."
      namespace          = var.metrics_namespace
      metric_name        = "WebhookRequests"
      dimensions         = merge(local.service_dimension, { Status = "503" })
      statistic          = "Sum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = 1
      treat_missing_data = "notBreaching"
    }
    dead_letters = {
      description        = "Records were kept as dead letters (signed but unparseable webhooks, records Firehose refused, polled records that failed validation): they are in the lake's dead_letter entity or under the oversize prefix, not in their tables."
      namespace          = var.metrics_namespace
      metric_name        = "DeadLetters"
      dimensions         = local.service_dimension
      statistic          = "Sum"
      period             = 300
      evaluation_periods = 1
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = 1
      treat_missing_data = "notBreaching"
    }
  }

  # One per stream: the youngest last success across tasks (only the lease holder polls). No data = never succeeded.
  # A sync or a full reconcile that finishes the stream resets the age. The age must stay above the threshold for up
  # to an hour (12 points): the grace after a deploy, when the gauge is absent until the first sync finishes, without
  # doubling the detection time of a long threshold.
  poller_alarms = {
    for stream in local.poller_streams : "poller_stale_${stream}" => {
      description        = "The poller has not finished a run of ${stream} for ${var.alarm_poller_stale_seconds} s (or never did since the tasks started): every run fails, or no task polls. See the service log for \"stream failed\"."
      namespace          = var.metrics_namespace
      metric_name        = "PollLastSuccessAgeSeconds"
      dimensions         = merge(local.service_dimension, { Stream = stream })
      statistic          = "Minimum"
      period             = 300
      evaluation_periods = min(12, max(1, ceil(var.alarm_poller_stale_seconds / 300)))
      comparison         = "GreaterThanThreshold"
      threshold          = var.alarm_poller_stale_seconds
      treat_missing_data = "breaching"
    }
  }

  # The load balancer's own 5xx (no healthy task, timeouts) and the tasks' 5xx, as one sum.
  alb_alarms = {
    alb_5xx = {
      description        = "The webhook load balancer answered 5xx (${var.alarm_alb_5xx_count} or more in 5 minutes): no healthy task, or tasks failing. Wootric retries, then gives up."
      comparison         = "GreaterThanOrEqualToThreshold"
      threshold          = var.alarm_alb_5xx_count
      period             = 300
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
      queries = [
        { id = "elb", metric_name = "HTTPCode_ELB_5XX_Count", namespace = "AWS/ApplicationELB", dimensions = { LoadBalancer = one(module.service[*].alb_arn_suffix) }, stat = "Sum", expression = null, return_data = false },
        { id = "target", metric_name = "HTTPCode_Target_5XX_Count", namespace = "AWS/ApplicationELB", dimensions = { LoadBalancer = one(module.service[*].alb_arn_suffix) }, stat = "Sum", expression = null, return_data = false },
        { id = "errors", metric_name = null, namespace = null, dimensions = null, stat = null, expression = "FILL(elb, 0) + FILL(target, 0)", return_data = true },
      ]
    }
  }

  # Groups switched on and off as a whole (merge of a tuple: the groups' objects have different shapes).
  alarms = merge([for group in [
    { on = var.create_alarms, alarms = local.firehose_alarms },
    { on = var.create_alarms && var.service_metrics_alarms, alarms = local.service_alarms },
    { on = var.create_alarms && var.service_metrics_alarms && var.enable_poller, alarms = local.poller_alarms },
    { on = var.create_alarms && var.create_service, alarms = local.alb_alarms },
    { on = var.create_alarms && var.error_prefix_metrics, alarms = local.error_prefix_alarms },
  ] : group.alarms if group.on]...)

  error_prefix_metric_filter = "firehose-errors"
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

# Counts PUTs under the Firehose error prefix (S3 request metrics are billed like custom metrics).
resource "aws_s3_bucket_metric" "firehose_errors" {
  count = var.create_alarms && var.error_prefix_metrics ? 1 : 0

  bucket = aws_s3_bucket.data.id
  name   = local.error_prefix_metric_filter

  filter {
    prefix = "${local.firehose_error_dir}/"
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = try(each.value.datapoints_to_alarm, null)
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  namespace   = try(each.value.namespace, null)
  metric_name = try(each.value.metric_name, null)
  dimensions  = try(each.value.dimensions, null)
  statistic   = try(each.value.statistic, null)
  period      = try(each.value.queries, null) == null ? each.value.period : null

  dynamic "metric_query" {
    for_each = try(each.value.queries, [])
    content {
      id          = metric_query.value.id
      expression  = metric_query.value.expression
      return_data = metric_query.value.return_data

      dynamic "metric" {
        for_each = metric_query.value.expression == null ? [metric_query.value] : []
        content {
          namespace   = metric.value.namespace
          metric_name = metric.value.metric_name
          dimensions  = metric.value.dimensions
          stat        = metric.value.stat
          period      = each.value.period
        }
      }
    }
  }
}

# Earlier versions had one resource per alarm.
moved {
  from = aws_cloudwatch_metric_alarm.data_freshness[0]
  to   = aws_cloudwatch_metric_alarm.this["data_freshness"]
}

moved {
  from = aws_cloudwatch_metric_alarm.delivery_failures[0]
  to   = aws_cloudwatch_metric_alarm.this["delivery_failures"]
}

# throttled_records (ThrottledRecords > 0) is gone: the adaptive producer is throttled on every drain by design
# (drain_seconds replaces it); the next apply destroys an existing throttled-records alarm.

moved {
  from = aws_cloudwatch_metric_alarm.partition_count_exceeded[0]
  to   = aws_cloudwatch_metric_alarm.this["partition_count_exceeded"]
}
