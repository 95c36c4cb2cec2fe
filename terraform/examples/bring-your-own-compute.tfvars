# Pipeline only (stream, bucket, Glue/Athena, alarms, secrets, application role); run the image yourself
# (Kubernetes, EC2, another ECS cluster) with the app_role_arn and app_environment outputs.
#   cd terraform && terraform apply -var-file=examples/bring-your-own-compute.tfvars

aws_region            = "us-east-1"
name_prefix           = "wootric-firehose"
create_service        = false
create_ecr_repository = false
# The alarms on the service's own metrics need its stdout (EMF_METRICS=true, in the app_environment output) in
# CloudWatch Logs; set this to false if your compute does not ship it there.
service_metrics_alarms = true
app_role_trusted_arns  = ["arn:aws:iam::123456789012:role/my-compute-role"]
alarm_emails           = ["data-oncall@example.com"]
