resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-alb"
  description = "HTTPS from Wootric to the webhook ALB"
  vpc_id      = var.vpc_id

  lifecycle {
    precondition {
      condition     = var.vpc_id != null && length(var.public_subnet_ids) >= 2 && length(var.private_subnet_ids) >= 1 && var.certificate_arn != null
      error_message = "create_service = true needs vpc_id, at least two public_subnet_ids, private_subnet_ids in at least two availability zones (one with spool_storage = \"efs\") and certificate_arn (or set create_service = false to bring your own compute)."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the service tasks"
  referenced_security_group_id = aws_security_group.service.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_security_group" "service" {
  name        = "${var.name_prefix}-service"
  description = "wootric-firehose tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "service_from_alb" {
  security_group_id            = aws_security_group.service.id
  description                  = "From the ALB"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_vpc_security_group_egress_rule" "service_https" {
  security_group_id = aws_security_group.service.id
  description       = "HTTPS to AWS APIs, ECR and the Wootric API"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "service_nfs" {
  count = local.use_efs ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "NFS to the spool file system"
  referenced_security_group_id = aws_security_group.efs[0].id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}
