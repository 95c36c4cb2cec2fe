# Pipeline only (stream, bucket, Glue/Athena, alarms, secrets, application role); run the image yourself
# (Kubernetes, EC2, another ECS cluster) with the app_role_arn and app_environment outputs.
#   cd terraform && terraform apply -var-file=examples/bring-your-own-compute.tfvars

aws_region            = "us-east-1"
name_prefix           = "wootric-firehose"
create_service        = false
app_role_trusted_arns = ["arn:aws:iam::123456789012:role/my-compute-role"]
alarm_emails          = ["data-oncall@example.com"]
