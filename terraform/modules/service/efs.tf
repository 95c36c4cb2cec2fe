# Optional durable spool (spool_storage = "efs"): survives task replacement, so a record acknowledged to Wootric and
# not yet shipped is replayed by the next task even after a crash.

resource "aws_efs_file_system" "spool" {
  count = local.use_efs ? 1 : 0

  creation_token   = "${var.name_prefix}-spool"
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  tags = { Name = "${var.name_prefix}-spool" }
}

resource "aws_security_group" "efs" {
  count = local.use_efs ? 1 : 0

  name        = "${var.name_prefix}-efs"
  description = "NFS from wootric-firehose tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_service" {
  count = local.use_efs ? 1 : 0

  security_group_id            = aws_security_group.efs[0].id
  description                  = "NFS from the service tasks"
  referenced_security_group_id = aws_security_group.service.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

# EFS allows one mount target per availability zone: the first private subnet of each zone gets it.
data "aws_subnet" "private" {
  for_each = local.use_efs ? toset(var.private_subnet_ids) : toset([])

  id = each.value
}

locals {
  efs_subnet_per_az = { for az, ids in { for s in data.aws_subnet.private : s.availability_zone => s.id... } : az => sort(ids)[0] }
}

resource "aws_efs_mount_target" "spool" {
  for_each = local.efs_subnet_per_az

  file_system_id  = aws_efs_file_system.spool[0].id
  subnet_id       = each.value
  security_groups = [aws_security_group.efs[0].id]
}

# The container runs as the image's `node` user (uid/gid 1000).
resource "aws_efs_access_point" "spool" {
  count = local.use_efs ? 1 : 0

  file_system_id = aws_efs_file_system.spool[0].id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = "/spool"

    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "0700"
    }
  }
}

data "aws_iam_policy_document" "app_efs" {
  count = local.use_efs ? 1 : 0

  statement {
    sid       = "MountSpool"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.spool[0].arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.spool[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "app_efs" {
  count = local.use_efs ? 1 : 0

  name   = "mount-spool"
  role   = var.app_role_name
  policy = data.aws_iam_policy_document.app_efs[0].json
}
