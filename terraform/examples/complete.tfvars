# Complete deployment: Firehose → S3 pipeline, Glue/Athena, alarms and dashboard, and the service on ECS Fargate
# behind an HTTPS ALB. Copy this file, change every line marked EDIT, and follow docs/aws-operations.md in order:
#   1. terraform apply -var-file=my.tfvars -var create_service=false   (pipeline, secrets, ECR repository)
#   2. put the secret values (aws secretsmanager put-secret-value --region ...)
#   3. build and push the image (aws ecr get-login-password --region ...)
#   4. terraform apply -var-file=my.tfvars                             (the service)
# Secrets are left null here so they never enter the Terraform state.

aws_region  = "eu-west-1" # EDIT: the region for everything (also --region in every aws command)
name_prefix = "wootric-firehose"
tags = {
  Team       = "data-platform"
  CostCenter = "analytics"
}

# Data bucket and layout: s3://<bucket>/wootric/entity=<entity>/dt=<YYYY-MM-DD>/....json.gz
bucket_name                        = "acme-wootric-firehose-eu-west-1" # EDIT: globally unique, or null for <name_prefix>-<account>-<region>
data_prefix                        = "wootric"
error_prefix                       = "errors"
state_prefix                       = "_state"
athena_results_prefix              = "athena-results"
manage_lifecycle_rules             = true
error_transition_days              = 30
error_expiration_days              = 365
noncurrent_version_expiration_days = 30
athena_results_expiration_days     = 30
force_destroy                      = false

# Optional customer managed key for the bucket, stream, secrets, logs, ECR and Athena results.
kms_key_arn = null

# Firehose buffering (dynamic partitioning minimums: 64 MiB, 60 s).
firehose_stream_name                        = "wootric-firehose"
firehose_buffering_size_mb                  = 64
firehose_buffering_interval_seconds         = 60
firehose_dynamic_partitioning_retry_seconds = 300
firehose_server_side_encryption             = true
firehose_max_bytes_per_second               = null # optional per-task ceiling; null: the send rate adapts to the quota

# Glue / Athena
glue_database_name              = "wootric"
partition_projection_start_date = "2020-01-01"
athena_bytes_scanned_cutoff     = 10737418240 # 10 GiB per query
create_named_queries            = true

# Secrets (null: put the values with `aws secretsmanager put-secret-value` after apply)
wootric_webhook_secret      = null
enable_poller               = true
wootric_client_id           = null
wootric_client_secret       = null
secret_recovery_window_days = 7

# Alarms and dashboard (the service publishes its metrics as EMF lines in its log group)
create_alarms                = true
service_metrics_alarms       = true
error_prefix_metrics         = true
metrics_namespace            = "WootricFirehose"
alarm_spool_age_seconds      = 900
alarm_webhook_401_count      = 3
alarm_alb_5xx_count          = 5
alarm_poller_stale_seconds   = 10800 # covers a nightly full reconcile; ~26 min per 128,000 records
alarm_drain_seconds          = 1800
alarm_drain_periods          = 3
alarm_incoming_bytes_percent = 80
alarm_incoming_bytes_minutes = 30
alarm_sns_topic_arn          = null
alarm_emails                 = ["data-oncall@example.com"] # EDIT: who gets the alarms (each confirms the e-mail)
alarm_data_freshness_seconds = 900

# Application role: ECS tasks assume it (only on behalf of this account); add role ARNs of other compute if any.
app_role_trusted_services = ["ecs-tasks.amazonaws.com"]
app_role_trusted_arns     = []

# Compute
create_service          = true
vpc_id                  = "vpc-0123456789abcdef0"                                  # EDIT
public_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"] # EDIT: two AZs, for the ALB
private_subnet_ids      = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"] # EDIT: two AZs, with a NAT gateway or VPC endpoints
assign_public_ip        = false
certificate_arn         = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000" # EDIT: ACM certificate for public_hostname, same region
public_hostname         = "wootric-hooks.example.com"                                                           # EDIT: the DNS name you point at the ALB (output alb_dns_name)
alb_ingress_cidrs       = ["0.0.0.0/0"]                                                                         # Wootric publishes no source IP ranges; the signature protects the endpoint
alb_ssl_policy          = "ELBSecurityPolicy-TLS13-1-2-2021-06"
alb_deletion_protection = true
create_ecr_repository   = true
container_image         = null    # the ECR repository created here
image_tag               = "0.1.0" # EDIT: the tag you push in step 3
cpu_architecture        = "X86_64"
task_cpu                = 512
task_memory             = 1024
container_port          = 8080
desired_count           = null # = min_capacity
min_capacity            = null # 2 with an ephemeral spool (two AZs), 1 with efs
max_capacity            = 4
autoscaling_cpu_target  = 60
spool_storage           = "ephemeral" # "efs" keeps the spool across task replacement (then max_capacity = 1)
ephemeral_storage_gib   = 21
spool_max_bytes         = 1073741824
stop_timeout_seconds    = 120
log_retention_days      = 30

# Service settings
wootric_region  = "eu" # EDIT: us, eu or au (an account token starting NPS-EU- is eu)
poll_cron       = "*/15 * * * *"
sync_start_date = null # the whole history; a date here silently skips everything before it
log_level       = "info"
extra_environment = {
  FIREHOSE_LINGER_MS = "200"
}
