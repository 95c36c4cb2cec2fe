locals {
  # The repository exists before the service (push the image first; docs/aws-operations.md).
  create_ecr      = var.create_ecr_repository && var.container_image == null
  container_image = var.container_image != null ? var.container_image : (local.create_ecr ? "${aws_ecr_repository.app[0].repository_url}:${var.image_tag}" : null)
}

resource "aws_ecr_repository" "app" {
  count = local.create_ecr ? 1 : 0

  name                 = var.name_prefix
  image_tag_mutability = "MUTABLE"
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = local.kms_enabled ? "KMS" : "AES256"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  count = local.create_ecr ? 1 : 0

  repository = aws_ecr_repository.app[0].name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 most recent images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 20
      }
      action = { type = "expire" }
    }]
  })
}
