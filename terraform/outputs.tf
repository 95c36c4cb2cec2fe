output "firehose_stream_name" {
  description = "Delivery stream name: the service's FIREHOSE_STREAM_NAME."
  value       = aws_kinesis_firehose_delivery_stream.records.name
}

output "firehose_stream_arn" {
  description = "Delivery stream ARN."
  value       = aws_kinesis_firehose_delivery_stream.records.arn
}

output "bucket_name" {
  description = "S3 bucket holding the data, errors, state and Athena results."
  value       = aws_s3_bucket.data.id
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "data_s3_uri" {
  description = "Where records land: <data_s3_uri>entity=<entity>/dt=<YYYY-MM-DD>/....json.gz."
  value       = "s3://${aws_s3_bucket.data.id}/${local.data_prefix}/"
}

output "error_s3_uri" {
  description = "Where Firehose errors (firehose/<type>/) and records too large for Firehose (oversize/) land."
  value       = "s3://${aws_s3_bucket.data.id}/${var.error_prefix}/"
}

output "firehose_role_arn" {
  description = "Firehose delivery role ARN."
  value       = aws_iam_role.firehose.arn
}

output "app_role_arn" {
  description = "Application role ARN (ECS task role; assume it from your own compute when create_service is false)."
  value       = aws_iam_role.app.arn
}

output "execution_role_arn" {
  description = "ECS execution role ARN (null without create_service)."
  value       = one(module.service[*].execution_role_arn)
}

output "webhook_secret_arn" {
  description = "Secrets Manager secret holding WOOTRIC_WEBHOOK_SECRET."
  value       = aws_secretsmanager_secret.webhook.arn
}

output "api_credentials_secret_arn" {
  description = "Secrets Manager secret holding the Wootric API credentials JSON (null when enable_poller is false)."
  value       = one(aws_secretsmanager_secret.api[*].arn)
}

output "glue_database_name" {
  description = "Glue database with one table per entity."
  value       = aws_glue_catalog_database.wootric.name
}

output "glue_table_names" {
  description = "Glue tables, keyed by entity."
  value       = { for name, t in aws_glue_catalog_table.entity : local.glue_tables[name].entity => t.name }
}

output "athena_workgroup" {
  description = "Athena workgroup to run queries in (results go to the data bucket)."
  value       = aws_athena_workgroup.wootric.name
}

output "alarm_topic_arn" {
  description = "SNS topic that receives the alarms (null when create_alarms is false)."
  value       = var.create_alarms ? local.alarm_topic_arn : null
}

output "ecr_repository_url" {
  description = "ECR repository to push the image to (null when container_image is given or create_ecr_repository is false)."
  value       = one(aws_ecr_repository.app[*].repository_url)
}

output "ecs_cluster_name" {
  description = "ECS cluster name (null without create_service)."
  value       = one(module.service[*].cluster_name)
}

output "ecs_service_name" {
  description = "ECS service name (null without create_service)."
  value       = one(module.service[*].service_name)
}

output "alb_dns_name" {
  description = "DNS name of the ALB: point public_hostname (CNAME/alias) at it."
  value       = one(module.service[*].alb_dns_name)
}

output "webhook_url" {
  description = "URL to enter in Wootric → Settings → Outgoing Webhooks (null without create_service)."
  value       = var.create_service ? "https://${coalesce(var.public_hostname, one(module.service[*].alb_dns_name))}/webhooks/wootric" : null
}

output "app_environment" {
  description = "Environment for the service (besides the secrets WOOTRIC_WEBHOOK_SECRET, WOOTRIC_CLIENT_ID, WOOTRIC_CLIENT_SECRET)."
  value       = local.app_environment
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the pipeline (null when create_alarms is false)."
  value       = var.create_alarms ? "https://${var.aws_region}.console.aws.amazon.com/cloudwatch/home?region=${var.aws_region}#dashboards/dashboard/${var.name_prefix}" : null
}

output "service_log_group" {
  description = "Log group of the service's tasks: its logs and EMF metrics (null without create_service)."
  value       = one(module.service[*].log_group_name)
}
