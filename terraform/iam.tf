# ---------------------------------------------------------------------------------------------------------------------
# Firehose delivery role: write the data and error prefixes of this bucket, use the KMS key through S3, write its log
# stream. Nothing else.
# ---------------------------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${var.name_prefix}-firehose"
  description        = "Delivery role of the ${local.stream_name} Firehose stream"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "BucketLevel"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid = "WriteDataAndErrors"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = [
      "${aws_s3_bucket.data.arn}/${local.data_prefix}/*",
      "${aws_s3_bucket.data.arn}/${local.firehose_error_dir}/*",
    ]
  }

  statement {
    sid       = "DeliveryLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:${aws_cloudwatch_log_stream.firehose_delivery.name}"]
  }

  dynamic "statement" {
    for_each = local.kms_enabled ? [var.kms_key_arn] : []
    content {
      sid       = "EncryptThroughS3"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.aws_region}.amazonaws.com"]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = ["${aws_s3_bucket.data.arn}/*", aws_s3_bucket.data.arn]
      }
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "deliver-to-s3"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

# ---------------------------------------------------------------------------------------------------------------------
# Application role: what the service itself does (task role on ECS, or assumed by your own compute).
# ---------------------------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "app_assume" {
  # Service principals (ECS tasks) only on behalf of this account: guards against the confused deputy.
  statement {
    sid     = "TrustedServices"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = var.app_role_trusted_services
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Your own compute, named role by role (aws:SourceAccount is not set when a role assumes a role).
  dynamic "statement" {
    for_each = length(var.app_role_trusted_arns) > 0 ? [var.app_role_trusted_arns] : []
    content {
      sid     = "TrustedRoles"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_iam_role" "app" {
  name               = "${var.name_prefix}-app"
  description        = "Runs wootric-firehose: puts records into ${local.stream_name}, keeps its state in S3"
  assume_role_policy = data.aws_iam_policy_document.app_assume.json
}

data "aws_iam_policy_document" "app" {
  statement {
    sid = "PutRecords"
    actions = [
      "firehose:DescribeDeliveryStream",
      "firehose:PutRecord",
      "firehose:PutRecordBatch",
    ]
    resources = [aws_kinesis_firehose_delivery_stream.records.arn]
  }

  statement {
    sid = "StateObjects"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.data.arn}/${local.state_prefix}/*"]
  }

  statement {
    sid       = "OversizeRecords"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.dead_letter_prefix}/*"]
  }

  # Without ListBucket, S3 answers 403 instead of 404 for a missing bookmark. Listing is limited to the state prefix;
  # the 404 check itself carries no s3:prefix, hence IfExists.
  statement {
    sid       = "ListStatePrefix"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = [local.state_prefix, "${local.state_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.secret_arns
  }

  dynamic "statement" {
    for_each = local.kms_enabled ? [var.kms_key_arn] : []
    content {
      sid       = "UseKeyThroughServices"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        # Not Firehose: stream encryption uses a grant Firehose creates and manages for itself (CreateGrant on
        # CreateDeliveryStream), so producers need no KMS permission to put records.
        values = [
          "s3.${var.aws_region}.amazonaws.com",
          "secretsmanager.${var.aws_region}.amazonaws.com",
        ]
      }
    }
  }
}

resource "aws_iam_role_policy" "app" {
  name   = "wootric-firehose"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}
