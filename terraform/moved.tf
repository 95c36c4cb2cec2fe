# Earlier versions had the compute resources in the root module behind count = create_service switches.
moved {
  from = aws_cloudwatch_log_group.service[0]
  to   = module.service[0].aws_cloudwatch_log_group.service
}

moved {
  from = aws_ecs_cluster.this[0]
  to   = module.service[0].aws_ecs_cluster.this
}

moved {
  from = aws_iam_role.execution[0]
  to   = module.service[0].aws_iam_role.execution
}

moved {
  from = aws_iam_role_policy.execution[0]
  to   = module.service[0].aws_iam_role_policy.execution
}

moved {
  from = aws_ecs_task_definition.app[0]
  to   = module.service[0].aws_ecs_task_definition.app
}

moved {
  from = aws_ecs_service.app[0]
  to   = module.service[0].aws_ecs_service.app
}

moved {
  from = aws_appautoscaling_target.app[0]
  to   = module.service[0].aws_appautoscaling_target.app
}

moved {
  from = aws_appautoscaling_policy.cpu[0]
  to   = module.service[0].aws_appautoscaling_policy.cpu
}

moved {
  from = aws_lb.webhooks[0]
  to   = module.service[0].aws_lb.webhooks
}

moved {
  from = aws_lb_target_group.service[0]
  to   = module.service[0].aws_lb_target_group.service
}

moved {
  from = aws_lb_listener.https[0]
  to   = module.service[0].aws_lb_listener.https
}

moved {
  from = aws_lb_listener_rule.webhooks[0]
  to   = module.service[0].aws_lb_listener_rule.webhooks
}

moved {
  from = aws_security_group.alb[0]
  to   = module.service[0].aws_security_group.alb
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_tasks[0]
  to   = module.service[0].aws_vpc_security_group_egress_rule.alb_to_tasks
}

moved {
  from = aws_security_group.service[0]
  to   = module.service[0].aws_security_group.service
}

moved {
  from = aws_vpc_security_group_ingress_rule.service_from_alb[0]
  to   = module.service[0].aws_vpc_security_group_ingress_rule.service_from_alb
}

moved {
  from = aws_vpc_security_group_egress_rule.service_https[0]
  to   = module.service[0].aws_vpc_security_group_egress_rule.service_https
}

moved {
  from = aws_vpc_security_group_egress_rule.service_nfs[0]
  to   = module.service[0].aws_vpc_security_group_egress_rule.service_nfs[0]
}

moved {
  from = aws_efs_file_system.spool[0]
  to   = module.service[0].aws_efs_file_system.spool[0]
}

moved {
  from = aws_security_group.efs[0]
  to   = module.service[0].aws_security_group.efs[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.efs_from_service[0]
  to   = module.service[0].aws_vpc_security_group_ingress_rule.efs_from_service[0]
}

moved {
  from = aws_efs_access_point.spool[0]
  to   = module.service[0].aws_efs_access_point.spool[0]
}

moved {
  from = aws_iam_role_policy.app_efs[0]
  to   = module.service[0].aws_iam_role_policy.app_efs[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_https
  to   = module.service[0].aws_vpc_security_group_ingress_rule.alb_https
}
