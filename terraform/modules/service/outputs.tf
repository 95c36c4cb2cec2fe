output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.app.name
}

output "execution_role_arn" {
  description = "ECS execution role ARN."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Log group of the tasks (logs and EMF metrics)."
  value       = aws_cloudwatch_log_group.service.name
}

output "alb_dns_name" {
  description = "DNS name of the webhook ALB."
  value       = aws_lb.webhooks.dns_name
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB (the LoadBalancer dimension of its CloudWatch metrics)."
  value       = aws_lb.webhooks.arn_suffix
}
