# Secret values can come from variables (then they are also in the Terraform state: keep the state encrypted) or be
# put afterwards with `aws secretsmanager put-secret-value`, which keeps them out of the state.

resource "aws_secretsmanager_secret" "webhook" {
  name                    = "${var.name_prefix}/webhook-secret"
  description             = "Wootric outgoing-webhook secret token(s), comma-separated during rotation (WOOTRIC_WEBHOOK_SECRET)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "webhook" {
  count = nonsensitive(var.wootric_webhook_secret != null) ? 1 : 0

  secret_id     = aws_secretsmanager_secret.webhook.id
  secret_string = var.wootric_webhook_secret
}

resource "aws_secretsmanager_secret" "api" {
  count = var.enable_poller ? 1 : 0

  name                    = "${var.name_prefix}/api-credentials"
  description             = "Wootric API client credentials as JSON {\"client_id\":\"...\",\"client_secret\":\"...\"}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "api" {
  count = var.enable_poller && nonsensitive(var.wootric_client_id != null && var.wootric_client_secret != null) ? 1 : 0

  secret_id = aws_secretsmanager_secret.api[0].id
  secret_string = jsonencode({
    client_id     = var.wootric_client_id
    client_secret = var.wootric_client_secret
  })
}

locals {
  secret_arns = concat([aws_secretsmanager_secret.webhook.arn], aws_secretsmanager_secret.api[*].arn)

  # ECS injects these as environment variables (JSON keys of the API secret select one value each).
  container_secrets = concat(
    [{ name = "WOOTRIC_WEBHOOK_SECRET", valueFrom = aws_secretsmanager_secret.webhook.arn }],
    var.enable_poller ? [
      { name = "WOOTRIC_CLIENT_ID", valueFrom = "${aws_secretsmanager_secret.api[0].arn}:client_id::" },
      { name = "WOOTRIC_CLIENT_SECRET", valueFrom = "${aws_secretsmanager_secret.api[0].arn}:client_secret::" },
    ] : [],
  )
}
