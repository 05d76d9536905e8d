# The connector on ECS Fargate: exactly one task, ever. It holds the WhatsApp
# sockets; a second copy would log the same linked devices in twice and the
# server would replace one with the other in a loop. Deployments therefore
# stop the old task before starting the new one (a short gap, no overlap).

locals {
  connector_container = "connector"

  # The connector's environment: only settings `wa-connector serve --help`
  # lists (tests/stack/tests/terraform.rs checks them against config.rs).
  connector_environment = merge(
    {
      APP_HOST            = "0.0.0.0"
      APP_PORT            = tostring(var.app_port)
      APP_DEBUG           = tostring(var.app_debug)
      APP_REQUEST_TIMEOUT = var.app_request_timeout
      MEDIA_URI           = "s3://${aws_s3_bucket.media.id}${var.media_prefix == "" ? "" : "/${var.media_prefix}"}"
      # Nobody watches a terminal here: link through GET /app/login instead.
      WA_PRINT_QR = "false"
    },
    length(var.webhook_urls) == 0 ? {} : {
      WHATSAPP_WEBHOOK = join(",", var.webhook_urls)
    },
    # Cloud fan-out: each attempt becomes a message for the fan-out function,
    # which reports the outcome back. Without the function nothing would
    # drain the queue, so the connector then makes the attempts itself with
    # its hosted component (webhook_fanout.wasm in the image).
    local.fanout_enabled ? {
      WEBHOOK_QUEUE_URL = aws_sqs_queue.events.url
    } : {},
  )

  # Settings whose values are secret: ECS resolves them from Secrets Manager
  # when the task starts; they never appear in the task definition.
  connector_secrets = merge(
    {
      DB_URI                  = "${aws_secretsmanager_secret.database.arn}:uri::"
      WHATSAPP_WEBHOOK_SECRET = aws_secretsmanager_secret.webhook.arn
      APP_BASIC_AUTH          = aws_secretsmanager_secret.api.arn
      # Serves /internal/v1/ to the fan-out function's reports.
      INTERNAL_API_TOKEN = aws_secretsmanager_secret.internal_api.arn
    },
    local.api_keys_given ? {
      APP_API_KEYS = aws_secretsmanager_secret.api_keys[0].arn
    } : {},
  )
}

resource "aws_cloudwatch_log_group" "connector" {
  name              = "/ecs/${var.name}/connector"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_ecs_task_definition" "connector" {
  family                   = "${var.name}-connector"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.connector_cpu)
  memory                   = tostring(var.connector_memory_mb)
  execution_role_arn       = aws_iam_role.connector_execution.arn
  task_role_arn            = aws_iam_role.connector_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.connector_cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name      = local.connector_container
      image     = var.connector_image
      essential = true
      command   = ["serve"]

      portMappings = [
        {
          containerPort = var.app_port
          protocol      = "tcp"
        },
      ]

      environment = [for name in sort(keys(local.connector_environment)) : {
        name  = name
        value = local.connector_environment[name]
      }]
      secrets = [for name in sort(keys(local.connector_secrets)) : {
        name      = name
        valueFrom = local.connector_secrets[name]
      }]

      # SIGTERM closes the WhatsApp connections cleanly; give it time.
      stopTimeout = 30

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.connector.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "connector"
        }
      }
    },
  ])

  tags = local.tags
}

resource "aws_ecs_service" "connector" {
  name            = "connector"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.connector.arn
  launch_type     = "FARGATE"

  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.connector.id]
    assign_public_ip = true
  }

  # API Gateway finds the task's address and port through Cloud Map.
  service_registries {
    registry_arn   = aws_service_discovery_service.connector.arn
    container_name = local.connector_container
    container_port = var.app_port
  }

  propagate_tags = "SERVICE"

  # The secrets must exist before the task reads them.
  depends_on = [
    aws_iam_role_policy.connector_execution,
    aws_secretsmanager_secret_version.database,
    aws_secretsmanager_secret_version.webhook,
    aws_secretsmanager_secret_version.api,
    aws_secretsmanager_secret_version.internal_api,
    aws_secretsmanager_secret_version.api_keys,
  ]

  tags = local.tags
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = "${var.name}.internal"
  description = "Service discovery for ${var.name}"
  vpc         = aws_vpc.this.id

  tags = local.tags
}

resource "aws_service_discovery_service" "connector" {
  name = "connector"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "SRV"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }

  tags = local.tags
}
