# The compute layer (ECS Fargate behind an HTTPS ALB) as one module, switched on by create_service.

# Version metadata only (never the secret values, which stay out of the state): whether each secret has a value yet.
data "aws_secretsmanager_secret_versions" "service" {
  for_each = var.create_service ? { for i, arn in local.secret_arns : tostring(i) => arn } : {}

  secret_id = each.value
}

locals {
  secrets_have_values = alltrue([
    for v in data.aws_secretsmanager_secret_versions.service : anytrue([for ver in v.versions : contains(ver.version_stages, "AWSCURRENT")])
  ])
}

module "service" {
  source = "./modules/service"
  count  = var.create_service ? 1 : 0

  name_prefix        = var.name_prefix
  aws_region         = var.aws_region
  account_id         = local.account_id
  kms_key_arn        = var.kms_key_arn
  log_retention_days = var.log_retention_days

  vpc_id                  = var.vpc_id
  public_subnet_ids       = var.public_subnet_ids
  private_subnet_ids      = var.private_subnet_ids
  assign_public_ip        = var.assign_public_ip
  certificate_arn         = var.certificate_arn
  alb_ingress_cidrs       = var.alb_ingress_cidrs
  alb_ssl_policy          = var.alb_ssl_policy
  alb_deletion_protection = var.alb_deletion_protection

  container_image        = local.container_image
  ecr_repository_arn     = one(aws_ecr_repository.app[*].arn)
  cpu_architecture       = var.cpu_architecture
  task_cpu               = var.task_cpu
  task_memory            = var.task_memory
  container_port         = var.container_port
  desired_count          = var.desired_count
  min_capacity           = var.min_capacity
  max_capacity           = var.max_capacity
  autoscaling_cpu_target = var.autoscaling_cpu_target
  spool_storage          = var.spool_storage
  ephemeral_storage_gib  = var.ephemeral_storage_gib
  stop_timeout_seconds   = var.stop_timeout_seconds

  environment         = local.app_environment
  container_secrets   = local.container_secrets
  secret_arns         = local.secret_arns
  secrets_have_values = local.secrets_have_values
  app_role_arn        = aws_iam_role.app.arn
  app_role_name       = aws_iam_role.app.name
}
