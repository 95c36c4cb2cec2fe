# The compute layer of wootric-firehose: ECS Fargate tasks behind an HTTPS ALB, optional EFS spool, autoscaling.
# Called by the root module when create_service = true; every value comes from there (see ../../variables.tf).

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "aws_region" {
  type        = string
  description = "Region of the deployment (awslogs driver, KMS ViaService)."
}

variable "account_id" {
  type        = string
  description = "Account id, for the aws:SourceAccount condition of the execution role's trust policy."
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed key for logs and the EFS spool; null uses AWS-managed encryption."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the service's log group (which also carries its EMF metrics)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the ALB and the tasks."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Subnets of the internet-facing ALB (two or more AZs)."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Subnets of the tasks (and of the EFS mount targets, one per AZ)."
}

variable "assign_public_ip" {
  type        = bool
  description = "Give tasks a public IP (only for subnets without a NAT gateway)."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener."
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the ALB on 443."
}

variable "alb_ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener."
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Deletion protection of the ALB."
}

variable "container_image" {
  type        = string
  description = "Image the tasks run."
}

variable "ecr_repository_arn" {
  type        = string
  description = "ECR repository the execution role may pull from (null when the image lives elsewhere)."
  default     = null
}

variable "cpu_architecture" {
  type        = string
  description = "X86_64 or ARM64."
}

variable "task_cpu" {
  type        = number
  description = "Fargate task CPU units."
}

variable "task_memory" {
  type        = number
  description = "Fargate task memory (MiB)."
}

variable "container_port" {
  type        = number
  description = "Port the service listens on."
}

variable "desired_count" {
  type        = number
  description = "Initial number of tasks; null = min_capacity."
  default     = null
}

variable "min_capacity" {
  type        = number
  description = "Minimum number of tasks; null = 2 with an ephemeral spool (two AZs), 1 with EFS."
  default     = null
}

variable "max_capacity" {
  type        = number
  description = "Maximum number of tasks."
}

variable "autoscaling_cpu_target" {
  type        = number
  description = "Target average CPU utilisation (percent)."
}

variable "spool_storage" {
  type        = string
  description = "ephemeral or efs."
}

variable "ephemeral_storage_gib" {
  type        = number
  description = "Fargate ephemeral storage in GiB."
}

variable "stop_timeout_seconds" {
  type        = number
  description = "Seconds ECS waits after SIGTERM before SIGKILL."
}

variable "environment" {
  type        = map(string)
  description = "Environment of the container (no secrets)."
}

variable "container_secrets" {
  type        = list(object({ name = string, valueFrom = string }))
  description = "Secrets ECS injects as environment variables."
}

variable "secret_arns" {
  type        = list(string)
  description = "Secrets the execution role may read."
}

variable "secrets_have_values" {
  type        = bool
  description = "Whether every secret in secret_arns has a current value; the service is not created before they do."
}

variable "app_role_arn" {
  type        = string
  description = "Task role (the application role of the root module)."
}

variable "app_role_name" {
  type        = string
  description = "Name of the task role, to attach the EFS mount policy to."
}
