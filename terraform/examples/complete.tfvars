# Complete deployment: Firehose → S3 pipeline, Glue/Athena, alarms, and the service on ECS Fargate behind an HTTPS ALB.
#   cd terraform && terraform init && terraform apply -var-file=examples/complete.tfvars
# Secrets are left null here so they never enter the Terraform state; put them afterwards (see README).

aws_region  = "eu-west-1"
name_prefix = "wootric-firehose"
tags = {
  Team       = "data-platform"
  CostCenter = "analytics"
}

# Data bucket and layout: s3://<bucket>/wootric/entity=<entity>/dt=<YYYY-MM-DD>/....json.gz
bucket_name                        = "acme-wootric-firehose-eu-west-1"
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

# Alarms
create_alarms                = true
alarm_sns_topic_arn          = null
alarm_emails                 = ["data-oncall@example.com"]
alarm_data_freshness_seconds = 900

# Compute
create_service          = true
vpc_id                  = "vpc-0123456789abcdef0"
public_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
private_subnet_ids      = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
assign_public_ip        = false
certificate_arn         = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
public_hostname         = "wootric-hooks.example.com"
alb_ingress_cidrs       = ["0.0.0.0/0"]
alb_ssl_policy          = "ELBSecurityPolicy-TLS13-1-2-2021-06"
alb_deletion_protection = true
container_image         = null # the ECR repository created here
image_tag               = "0.1.0"
cpu_architecture        = "X86_64"
task_cpu                = 512
task_memory             = 1024
container_port          = 8080
desired_count           = 1
min_capacity            = 1
max_capacity            = 4
autoscaling_cpu_target  = 60
spool_storage           = "ephemeral" # "efs" keeps the spool across task replacement (then max_capacity = 1)
ephemeral_storage_gib   = 21
spool_max_bytes         = 1073741824
stop_timeout_seconds    = 120
log_retention_days      = 30

# Service settings
wootric_region  = "eu"
poll_cron       = "*/15 * * * *"
sync_start_date = "2024-01-01"
log_level       = "info"
extra_environment = {
  FIREHOSE_LINGER_MS = "200"
}
