locals {
  use_efs = var.spool_storage == "efs"
  # Public webhook intake in two AZs by default; an EFS spool has a single writer, so one task.
  min_capacity   = coalesce(var.min_capacity, local.use_efs ? 1 : 2)
  desired_count  = coalesce(var.desired_count, local.min_capacity)
  container_name = "wootric-firehose"
  data_dir       = "/data"

  container_environment = merge(var.environment, {
    PORT      = tostring(var.container_port)
    HOST      = "0.0.0.0"
    DATA_DIR  = local.data_dir
    SPOOL_DIR = "${local.data_dir}/spool"
  })
}

resource "aws_cloudwatch_log_group" "service" {
  name              = "/ecs/${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# --- execution role: pull the image, write logs, inject the secrets -------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-execution"
  description        = "ECS execution role of wootric-firehose: image pull, logs, secret injection"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken is account-wide: AWS does not support resource-level permissions for it.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.ecr_repository_arn != null ? [var.ecr_repository_arn] : []
    content {
      sid       = "PullImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service.arn}:log-stream:*"]
  }

  statement {
    sid       = "InjectSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }

  dynamic "statement" {
    for_each = (var.kms_key_arn != null) ? [var.kms_key_arn] : []
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- task definition and service --------------------------------------------------------------------------------------

resource "aws_ecs_task_definition" "app" {
  family                   = var.name_prefix
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = var.app_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  dynamic "volume" {
    for_each = local.use_efs ? [1] : []
    content {
      name = "spool"

      efs_volume_configuration {
        file_system_id     = aws_efs_file_system.spool[0].id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = aws_efs_access_point.spool[0].id
          iam             = "ENABLED"
        }
      }
    }
  }

  container_definitions = jsonencode([{
    name      = local.container_name
    image     = var.container_image
    essential = true

    portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]

    environment = [for k in sort(keys(local.container_environment)) : { name = k, value = local.container_environment[k] }]
    secrets     = var.container_secrets

    mountPoints = local.use_efs ? [{ sourceVolume = "spool", containerPath = "${local.data_dir}/spool", readOnly = false }] : []

    # Liveness only (/healthz), like the ALB's target check: a task that is not ready (e.g. Firehose down, spool
    # full) must keep running so it can ship its spool, not be killed and replaced. /readyz is for monitoring.
    healthCheck = {
      command     = ["CMD", "node", "-e", "fetch('http://127.0.0.1:${var.container_port}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }

    # SIGTERM → the service stops intake, flushes the spool to Firehose within SHUTDOWN_TIMEOUT_MS, then exits.
    stopTimeout = var.stop_timeout_seconds

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service.name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "app"
      }
    }
  }])
}

resource "aws_ecs_service" "app" {
  name                              = var.name_prefix
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.app.arn
  desired_count                     = local.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  # With an EFS spool only one task may own it: stop the old task (it flushes) before the new one starts.
  deployment_minimum_healthy_percent = local.use_efs ? 0 : 100
  deployment_maximum_percent         = local.use_efs ? 100 : 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.service.arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  lifecycle {
    ignore_changes = [desired_count]

    precondition {
      condition     = var.spool_storage != "efs" || var.max_capacity == 1
      error_message = "spool_storage = \"efs\" needs max_capacity = 1: the spool directory has a single writer."
    }

    precondition {
      condition     = local.min_capacity <= var.max_capacity && local.desired_count >= local.min_capacity && local.desired_count <= var.max_capacity
      error_message = "Need min_capacity <= desired_count <= max_capacity."
    }

    # ECS injects the secrets when a task starts: without a value every task fails to start and ECS keeps retrying.
    precondition {
      condition     = var.secrets_have_values
      error_message = "The webhook secret (and, with the poller, the API credentials secret) has no value yet. Put the values first (aws secretsmanager put-secret-value --region ..., see docs/aws-operations.md step 2), then apply again."
    }
  }

  depends_on = [aws_lb_listener_rule.webhooks, aws_efs_mount_target.spool, aws_iam_role_policy.app_efs]
}

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = local.min_capacity
  max_capacity       = var.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name_prefix}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
