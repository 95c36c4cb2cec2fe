# ---------------------------------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------------------------------

variable "aws_region" {
  type        = string
  description = "AWS region to deploy into (also passed to the service as AWS_REGION)."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as us-east-1 or eu-west-1."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (stream, roles, secrets, cluster, ...). Lowercase letters, digits and hyphens."
  default     = "wootric-firehose"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (through the provider's default_tags)."
  default     = {}
}

variable "kms_key_arn" {
  type        = string
  description = "Optional customer managed KMS key ARN. When set it encrypts the bucket (SSE-KMS with a bucket key), the Firehose stream (CUSTOMER_MANAGED_CMK), the secrets, the log groups, Athena results and ECR. When null, AWS-owned/managed keys and SSE-S3 are used. The key policy must let Firehose, CloudWatch Logs and the roles created here use it."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete the bucket, Athena workgroup and ECR repository with their contents. Keep false in production."
  default     = false
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the Firehose and service CloudWatch log groups, in days."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# S3 data bucket and layout
# ---------------------------------------------------------------------------------------------------------------------

variable "bucket_name" {
  type        = string
  description = "Name of the S3 bucket that receives the data. Default: <name_prefix>-<account id>-<region>."
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "data_prefix" {
  type        = string
  description = "Key prefix of the landed records: <data_prefix>/entity=<entity>/dt=<YYYY-MM-DD>/....json.gz."
  default     = "wootric"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.data_prefix))
    error_message = "data_prefix must be a non-empty S3 key prefix without leading or trailing slash, e.g. wootric or raw/wootric."
  }
}

variable "error_prefix" {
  type        = string
  description = "Key prefix of Firehose error output (<error_prefix>/firehose/<error type>/...) and of records too large for Firehose (<error_prefix>/oversize/)."
  default     = "errors"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.error_prefix))
    error_message = "error_prefix must be a non-empty S3 key prefix without leading or trailing slash."
  }
}

variable "state_prefix" {
  type        = string
  description = "Key prefix of the poller's bookmarks and lease (STATE_URL=s3://<bucket>/<state_prefix>)."
  default     = "_state"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.state_prefix))
    error_message = "state_prefix must be a non-empty S3 key prefix without leading or trailing slash."
  }
}

variable "athena_results_prefix" {
  type        = string
  description = "Key prefix of Athena query results in the data bucket."
  default     = "athena-results"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.athena_results_prefix))
    error_message = "athena_results_prefix must be a non-empty S3 key prefix without leading or trailing slash."
  }
}

variable "manage_lifecycle_rules" {
  type        = bool
  description = "Manage the bucket's lifecycle rules (error transition/expiry, Athena results expiry, non-current versions, incomplete uploads) here. False when an organisation policy manages lifecycle, or for emulators that do not round-trip lifecycle configuration."
  default     = true
}

variable "error_transition_days" {
  type        = number
  description = "Days after which error objects move to STANDARD_IA."
  default     = 30

  validation {
    condition     = var.error_transition_days >= 30
    error_message = "error_transition_days must be at least 30 (S3's minimum for STANDARD_IA)."
  }
}

variable "error_expiration_days" {
  type        = number
  description = "Days after which error objects (Firehose errors and oversize records) expire. 0 keeps them forever. Oversize records are data: keep this long enough to replay them."
  default     = 365

  validation {
    condition     = var.error_expiration_days == 0 || var.error_expiration_days > 30
    error_message = "error_expiration_days must be 0 (never) or more than 30 days (it must come after the STANDARD_IA transition)."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days after which non-current object versions are deleted (the bucket is versioned)."
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "athena_results_expiration_days" {
  type        = number
  description = "Days after which Athena query results expire."
  default     = 30

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be at least 1."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Firehose
# ---------------------------------------------------------------------------------------------------------------------

variable "firehose_stream_name" {
  type        = string
  description = "Name of the Firehose delivery stream (FIREHOSE_STREAM_NAME). Default: name_prefix."
  default     = null

  validation {
    condition     = var.firehose_stream_name == null || can(regex("^[a-zA-Z0-9_.-]{1,64}$", var.firehose_stream_name))
    error_message = "firehose_stream_name must be 1-64 letters, digits, underscores, dots or hyphens."
  }
}

variable "firehose_buffering_size_mb" {
  type        = number
  description = "Firehose buffer size in MiB (before compression). Dynamic partitioning needs at least 64; the interval usually triggers first at Wootric volumes."
  default     = 64

  validation {
    condition     = var.firehose_buffering_size_mb >= 64 && var.firehose_buffering_size_mb <= 128
    error_message = "firehose_buffering_size_mb must be between 64 (the dynamic-partitioning minimum) and 128."
  }
}

variable "firehose_buffering_interval_seconds" {
  type        = number
  description = "Firehose buffer interval in seconds: the upper bound of landing latency per partition (dynamic partitioning can add up to ~0.5x)."
  default     = 60

  validation {
    condition     = var.firehose_buffering_interval_seconds >= 60 && var.firehose_buffering_interval_seconds <= 900
    error_message = "firehose_buffering_interval_seconds must be between 60 (the dynamic-partitioning minimum) and 900."
  }
}

variable "firehose_dynamic_partitioning_retry_seconds" {
  type        = number
  description = "How long Firehose retries a failed S3 delivery of a partition before writing it to the error prefix."
  default     = 300

  validation {
    condition     = var.firehose_dynamic_partitioning_retry_seconds >= 0 && var.firehose_dynamic_partitioning_retry_seconds <= 7200
    error_message = "firehose_dynamic_partitioning_retry_seconds must be between 0 and 7200."
  }
}

variable "firehose_server_side_encryption" {
  type        = bool
  description = "Encrypt records at rest inside Firehose (AWS_OWNED_CMK, or CUSTOMER_MANAGED_CMK with kms_key_arn). Only disable for emulators that cannot enable it."
  default     = true
}

# ---------------------------------------------------------------------------------------------------------------------
# Glue / Athena
# ---------------------------------------------------------------------------------------------------------------------

variable "glue_database_name" {
  type        = string
  description = "Glue database holding one table per entity. Default: name_prefix with hyphens replaced by underscores."
  default     = null

  validation {
    condition     = var.glue_database_name == null || can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name must be lowercase letters, digits and underscores."
  }
}

variable "partition_projection_start_date" {
  type        = string
  description = "First dt (YYYY-MM-DD) that partition projection enumerates. Any date on or before the first record works; later means faster planning."
  default     = "2020-01-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.partition_projection_start_date))
    error_message = "partition_projection_start_date must be a date written YYYY-MM-DD."
  }
}

variable "athena_bytes_scanned_cutoff" {
  type        = number
  description = "Per-query scan limit of the Athena workgroup in bytes (null: no limit; minimum 10 MB)."
  default     = null

  validation {
    condition     = var.athena_bytes_scanned_cutoff == null || try(var.athena_bytes_scanned_cutoff >= 10485760, false)
    error_message = "athena_bytes_scanned_cutoff must be null or at least 10485760 (10 MB)."
  }
}

variable "create_named_queries" {
  type        = bool
  description = "Save the example queries (NPS by week, deduplicated responses) as Athena named queries in the workgroup."
  default     = true
}

# ---------------------------------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------------------------------

variable "wootric_webhook_secret" {
  type        = string
  description = "Wootric's webhook secret token (Settings → Outgoing Webhooks); comma-separate two during rotation. Null: the secret is created empty and you put its value with `aws secretsmanager put-secret-value` (keeps it out of Terraform state)."
  default     = null
  sensitive   = true
}

variable "enable_poller" {
  type        = bool
  description = "Create the Wootric API credentials secret and pass WOOTRIC_CLIENT_ID/WOOTRIC_CLIENT_SECRET to the service so it polls the API (catch-up, end users, segments, NPS summary). False: webhooks only."
  default     = true
}

variable "wootric_client_id" {
  type        = string
  description = "Wootric API client id (Settings → API). Null: put it into the API secret yourself (JSON {\"client_id\":...,\"client_secret\":...})."
  default     = null
  sensitive   = true
}

variable "wootric_client_secret" {
  type        = string
  description = "Wootric API client secret (Settings → API). Null: put it into the API secret yourself."
  default     = null
  sensitive   = true
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted secret can be restored (0 deletes immediately)."
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------------------------------

variable "create_alarms" {
  type        = bool
  description = "Create the CloudWatch alarms (Firehose delivery and quota, error prefix, the service's own metrics, the load balancer) and the CloudWatch dashboard."
  default     = true
}

variable "alarm_sns_topic_arn" {
  type        = string
  description = "Existing SNS topic that receives alarm notifications. Null: a topic is created."
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN."
  }
}

variable "alarm_emails" {
  type        = list(string)
  description = "E-mail addresses subscribed to the created alarm topic (each must confirm the subscription)."
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "alarm_data_freshness_seconds" {
  type        = number
  description = "Alarm when the oldest record in Firehose is older than this (DeliveryToS3.DataFreshness). Keep it above buffering interval + retry time."
  default     = 900

  validation {
    condition     = var.alarm_data_freshness_seconds >= 60
    error_message = "alarm_data_freshness_seconds must be at least 60."
  }
}

variable "service_metrics_alarms" {
  type        = bool
  description = "Alarm on the service's own metrics (producer blocked, spool age, 401/503, dead letters, poller staleness). They arrive as Embedded Metric Format lines in the service's log group: automatic on ECS; with your own compute, ship the container's stdout to CloudWatch Logs or set this to false."
  default     = true
}

variable "error_prefix_metrics" {
  type        = bool
  description = "S3 request metrics on the Firehose error prefix, so an alarm fires when Firehose writes records there (request metrics are billed like custom metrics)."
  default     = true
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the service's metrics (EMF_NAMESPACE); each deployment is told apart by the Service dimension (name_prefix)."
  default     = "WootricFirehose"
}

variable "alarm_spool_age_seconds" {
  type        = number
  description = "Alarm when a record has waited in a spool longer than this without reaching Firehose."
  default     = 900

  validation {
    condition     = var.alarm_spool_age_seconds >= 60
    error_message = "alarm_spool_age_seconds must be at least 60."
  }
}

variable "alarm_webhook_401_count" {
  type        = number
  description = "Alarm when this many webhooks in 5 minutes fail signature verification (401)."
  default     = 3
}

variable "alarm_alb_5xx_count" {
  type        = number
  description = "Alarm when the load balancer answers this many 5xx in 5 minutes (ELB and target 5xx together)."
  default     = 5
}

# 3 hours: a nightly full reconciliation (RECONCILE_CRON) holds the poller's lease, so sync runs wait until it ends.
# Each stream's age is refreshed when its reconcile finishes, but a stream reconciled late in the run waits for the
# ones before it: at Wootric's documented 100 requests per minute, 128,000 records take about 26 minutes, so a
# large account's reconcile runs well past an hour. Raise it further for accounts of many hundred thousand records.
variable "alarm_poller_stale_seconds" {
  type        = number
  description = "Alarm when a poller stream has not finished a run (sync or full reconciliation) for this long. Keep it above the POLL_CRON interval plus the longest nightly reconcile (about 26 minutes per 128,000 records); a first sync of a long history may exceed it until it completes."
  default     = 10800

  validation {
    condition     = var.alarm_poller_stale_seconds >= 600
    error_message = "alarm_poller_stale_seconds must be at least 600."
  }
}

variable "alarm_drain_seconds" {
  type        = number
  description = "Alarm when the spool's backlog needs more than this many seconds to send at the rate Firehose accepts (EMF DrainSeconds), for alarm_drain_periods 5-minute periods in a row. Draining at the quota after an outage is normal; a drain estimate that stays this long means the quota cannot keep up."
  default     = 1800

  validation {
    condition     = var.alarm_drain_seconds >= 60
    error_message = "alarm_drain_seconds must be at least 60."
  }
}

variable "alarm_drain_periods" {
  type        = number
  description = "Consecutive 5-minute periods DrainSeconds must stay above alarm_drain_seconds before the drain-seconds alarm fires."
  default     = 3

  validation {
    condition     = var.alarm_drain_periods >= 1 && var.alarm_drain_periods <= 288 && floor(var.alarm_drain_periods) == var.alarm_drain_periods
    error_message = "alarm_drain_periods must be a whole number from 1 to 288."
  }
}

variable "alarm_incoming_bytes_minutes" {
  type        = number
  description = "Alarm when IncomingBytes stays above alarm_incoming_bytes_percent of the quota in every 5 minutes for this many minutes (rounded up to 5). The producer sends at the quota while it drains a backlog, so keep it longer than a normal drain."
  default     = 30

  validation {
    condition     = var.alarm_incoming_bytes_minutes >= 15 && var.alarm_incoming_bytes_minutes <= 1440
    error_message = "alarm_incoming_bytes_minutes must be between 15 and 1440."
  }
}

variable "alarm_incoming_bytes_percent" {
  type        = number
  description = "Alarm when IncomingBytes per second exceeds this percentage of the stream's BytesPerSecondLimit for alarm_incoming_bytes_minutes."
  default     = 80

  validation {
    condition     = var.alarm_incoming_bytes_percent > 0 && var.alarm_incoming_bytes_percent <= 100
    error_message = "alarm_incoming_bytes_percent must be between 1 and 100."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Application role (used by the ECS task, or by your own compute)
# ---------------------------------------------------------------------------------------------------------------------

variable "app_role_trusted_services" {
  type        = list(string)
  description = "AWS service principals that may assume the application role."
  default     = ["ecs-tasks.amazonaws.com"]
}

variable "app_role_trusted_arns" {
  type        = list(string)
  description = "IAM principal ARNs that may assume the application role (for your own compute when create_service is false)."
  default     = []
}

# ---------------------------------------------------------------------------------------------------------------------
# Compute: ECS Fargate service behind an HTTPS ALB (create_service = false to bring your own)
# ---------------------------------------------------------------------------------------------------------------------

variable "create_service" {
  type        = bool
  description = "Create the ECR repository, ECS cluster, Fargate service, ALB and log group. False: run the image yourself with the application role and the app_environment output."
  default     = true
}

variable "vpc_id" {
  type        = string
  description = "VPC of the service and ALB (required when create_service is true)."
  default     = null
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Subnets of the internet-facing ALB, in at least two AZs (required when create_service is true)."
  default     = []
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Subnets of the tasks (and EFS mount targets). They need outbound access to AWS APIs and Wootric (NAT or VPC endpoints)."
  default     = []
}

variable "assign_public_ip" {
  type        = bool
  description = "Give tasks a public IP (only for subnets without NAT; prefer private subnets)."
  default     = false
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate ARN for the ALB's HTTPS listener (required when create_service is true)."
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "public_hostname" {
  type        = string
  description = "DNS name you point at the ALB (matching the certificate). Used for the webhook_url output; null uses the ALB's own DNS name."
  default     = null
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the ALB on 443 (Wootric does not publish its webhook source addresses)."
  default     = ["0.0.0.0/0"]
}

variable "alb_ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Protect the ALB from deletion."
  default     = false
}

variable "create_ecr_repository" {
  type        = bool
  description = "Create an ECR repository for the image (ignored when container_image is set). It exists before the service, so the image can be pushed first."
  default     = true
}

variable "container_image" {
  type        = string
  description = "Full image reference to run. Null: the ECR repository created here with image_tag."
  default     = null
}

variable "image_tag" {
  type        = string
  description = "Tag of the image in the created ECR repository."
  default     = "latest"
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the tasks: X86_64 or ARM64 (must match the pushed image)."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "task_cpu" {
  type        = number
  description = "Fargate task CPU units."
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  type        = number
  description = "Fargate task memory in MiB (must be valid for task_cpu)."
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be between 512 and 30720 MiB."
  }
}

variable "container_port" {
  type        = number
  description = "Port the service listens on inside the container (PORT)."
  default     = 8080

  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "container_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "desired_count" {
  type        = number
  description = "Initial number of tasks (autoscaling moves it between min_capacity and max_capacity). Null: min_capacity."
  default     = null

  validation {
    condition     = var.desired_count == null || try(var.desired_count >= 1, false)
    error_message = "desired_count must be at least 1."
  }
}

variable "min_capacity" {
  type        = number
  description = "Minimum number of tasks. Null: 2 with an ephemeral spool (webhook intake in two availability zones), 1 with spool_storage = \"efs\" (single writer)."
  default     = null

  validation {
    condition     = var.min_capacity == null || try(var.min_capacity >= 1, false)
    error_message = "min_capacity must be at least 1."
  }

  validation {
    condition     = var.min_capacity == null || var.spool_storage == "efs" || try(var.min_capacity >= 2, false)
    error_message = "min_capacity must be at least 2 with spool_storage = \"ephemeral\": one task is one availability zone for public webhook intake."
  }
}

variable "max_capacity" {
  type        = number
  description = "Maximum number of tasks (must be 1 with spool_storage = \"efs\": the spool has a single writer)."
  default     = 4

  validation {
    condition     = var.max_capacity >= 1
    error_message = "max_capacity must be at least 1."
  }

  validation {
    condition     = var.spool_storage != "efs" || var.max_capacity == 1
    error_message = "spool_storage = \"efs\" needs max_capacity = 1: the spool directory has a single writer."
  }
}

variable "autoscaling_cpu_target" {
  type        = number
  description = "Target average CPU utilisation (percent) for scaling."
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target >= 10 && var.autoscaling_cpu_target <= 90
    error_message = "autoscaling_cpu_target must be between 10 and 90."
  }
}

variable "spool_storage" {
  type        = string
  description = "Where the service's durable spool lives: \"ephemeral\" (task storage; flushed to Firehose on SIGTERM within stop_timeout, lost if a task dies abruptly with records not yet shipped) or \"efs\" (survives task replacement; requires max_capacity = 1)."
  default     = "ephemeral"

  validation {
    condition     = contains(["ephemeral", "efs"], var.spool_storage)
    error_message = "spool_storage must be ephemeral or efs."
  }
}

variable "ephemeral_storage_gib" {
  type        = number
  description = "Fargate ephemeral storage in GiB (holds the spool when spool_storage is ephemeral)."
  default     = 21

  validation {
    condition     = var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200
    error_message = "ephemeral_storage_gib must be between 21 and 200."
  }
}

variable "spool_max_bytes" {
  type        = number
  description = "SPOOL_MAX_BYTES: when the spool holds this much unshipped data, intake answers 503 (Wootric retries)."
  default     = 1073741824
}

variable "firehose_max_bytes_per_second" {
  type        = number
  description = "Optional per-task ceiling (FIREHOSE_MAX_BYTES_PER_SECOND) on the send rate. Default null: no ceiling; every task finds the stream's quota from Firehose's throttling and the tasks share it."
  default     = null

  validation {
    condition     = var.firehose_max_bytes_per_second == null || try(var.firehose_max_bytes_per_second >= 1024, false)
    error_message = "firehose_max_bytes_per_second must be null (no ceiling) or at least 1024."
  }
}

variable "stop_timeout_seconds" {
  type        = number
  description = "Seconds ECS waits after SIGTERM before SIGKILL (Fargate maximum 120). The service gets SHUTDOWN_TIMEOUT_MS = this minus 10 s to drain."
  default     = 120

  validation {
    condition     = var.stop_timeout_seconds >= 15 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be between 15 and 120."
  }
}

variable "wootric_region" {
  type        = string
  description = "WOOTRIC_REGION of your Wootric account: us, eu or au."
  default     = "us"

  validation {
    condition     = contains(["us", "eu", "au"], var.wootric_region)
    error_message = "wootric_region must be us, eu or au."
  }
}

variable "poll_cron" {
  type        = string
  description = "POLL_CRON: when the poller runs (cron syntax, UTC)."
  default     = "*/15 * * * *"
}

variable "sync_start_date" {
  type        = string
  description = "SYNC_START_DATE (YYYY-MM-DD): how far back the first sync reads. Null reads the whole history."
  default     = null

  validation {
    condition     = var.sync_start_date == null || can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.sync_start_date))
    error_message = "sync_start_date must be a date written YYYY-MM-DD."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the service."
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug"], var.log_level)
    error_message = "log_level must be error, warn, info or debug."
  }
}

variable "extra_environment" {
  type        = map(string)
  description = "Additional environment variables for the container (e.g. FIREHOSE_LINGER_MS). Do not put secrets here."
  default     = {}
}
