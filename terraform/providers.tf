provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Application = "wootric-firehose", ManagedBy = "terraform" }, var.tags)
  }
}
