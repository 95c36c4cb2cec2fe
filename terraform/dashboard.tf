# One CloudWatch dashboard: intake, spool, Firehose delivery and freshness, poller freshness, dead letters, alarms.
locals {
  dashboard_namespace = var.metrics_namespace
  dashboard_service   = local.metrics_service_name
  dashboard_stream    = aws_kinesis_firehose_delivery_stream.records.name

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Intake: webhooks by status (per 5 min)"
        view    = "timeSeries", stacked = true, region = var.aws_region, period = 300, stat = "Sum"
        metrics = [for status in ["200", "400", "401", "413", "415", "503"] : [local.dashboard_namespace, "WebhookRequests", "Service", local.dashboard_service, "Status", status, { label = status }]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title = "Intake: signature failures and dead letters"
        view  = "timeSeries", region = var.aws_region, period = 300, stat = "Sum"
        metrics = [
          [local.dashboard_namespace, "SignatureFailures", "Service", local.dashboard_service, { label = "401 signature failures" }],
          [local.dashboard_namespace, "DeadLetters", "Service", local.dashboard_service, { label = "dead letters" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title = "Spool: records waiting and oldest age (s)"
        view  = "timeSeries", region = var.aws_region, period = 60, stat = "Maximum"
        metrics = [
          [local.dashboard_namespace, "SpoolRecords", "Service", local.dashboard_service, { label = "records" }],
          [local.dashboard_namespace, "SpoolOldestAgeSeconds", "Service", local.dashboard_service, { label = "oldest age (s)", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title = "Producer: lines sent, throttled entries and calls, drain estimate (s), blocked"
        view  = "timeSeries", region = var.aws_region, period = 300
        metrics = [
          [local.dashboard_namespace, "FirehoseLinesSent", "Service", local.dashboard_service, { stat = "Sum", label = "lines accepted by Firehose" }],
          [local.dashboard_namespace, "ThrottledEntries", "Service", local.dashboard_service, { stat = "Sum", label = "throttled entries" }],
          [local.dashboard_namespace, "ThrottledCalls", "Service", local.dashboard_service, { stat = "Sum", label = "throttled calls" }],
          [local.dashboard_namespace, "DrainSeconds", "Service", local.dashboard_service, { stat = "Maximum", label = "drain estimate (s)", yAxis = "right" }],
          [local.dashboard_namespace, "ProducerBlocked", "Service", local.dashboard_service, { stat = "Maximum", label = "blocked (1 = cannot send)", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title = "Firehose: incoming vs delivered records, delivery success"
        view  = "timeSeries", region = var.aws_region, period = 300
        metrics = [
          ["AWS/Firehose", "IncomingRecords", "DeliveryStreamName", local.dashboard_stream, { stat = "Sum" }],
          ["AWS/Firehose", "DeliveryToS3.Records", "DeliveryStreamName", local.dashboard_stream, { stat = "Sum" }],
          ["AWS/Firehose", "DeliveryToS3.Success", "DeliveryStreamName", local.dashboard_stream, { stat = "Average", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "Firehose: data freshness (s) and bytes/s vs quota"
        view  = "timeSeries", region = var.aws_region, period = 300
        metrics = [
          ["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", local.dashboard_stream, { stat = "Maximum", label = "data freshness (s)" }],
          ["AWS/Firehose", "IncomingBytes", "DeliveryStreamName", local.dashboard_stream, { stat = "Sum", id = "bytes", visible = false }],
          ["AWS/Firehose", "BytesPerSecondLimit", "DeliveryStreamName", local.dashboard_stream, { stat = "Maximum", id = "limit", visible = false }],
          [{ expression = "100 * (bytes / PERIOD(bytes)) / limit", label = "% of BytesPerSecondLimit", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title   = "Poller: seconds since the last successful run, per stream"
        view    = "timeSeries", region = var.aws_region, period = 300, stat = "Minimum"
        metrics = [for s in local.poller_streams : [local.dashboard_namespace, "PollLastSuccessAgeSeconds", "Service", local.dashboard_service, "Stream", s, { label = s }]]
      }
    },
    {
      type = "metric", x = 12, y = 18, width = 12, height = 6
      properties = {
        title   = "Poller: records per stream (per 5 min)"
        view    = "timeSeries", stacked = true, region = var.aws_region, period = 300, stat = "Sum"
        metrics = [for s in local.poller_streams : [local.dashboard_namespace, "PollRecords", "Service", local.dashboard_service, "Stream", s, { label = s }]]
      }
    },
    {
      type = "alarm", x = 0, y = 24, width = 24, height = 4
      properties = {
        title  = "Alarms"
        alarms = [for a in aws_cloudwatch_metric_alarm.this : a.arn]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  count = var.create_alarms ? 1 : 0

  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
