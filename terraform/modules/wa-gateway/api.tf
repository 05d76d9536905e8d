# The public HTTPS endpoint: an API Gateway HTTP API forwarding every route to
# the connector through a VPC link. It gives a TLS URL without a domain or a
# certificate, and the connector keeps no port open to the internet.
# Limits to know: 30 s per request, 10 MB per request body.
#
# The connector's internal endpoint (/internal/v1/) is closed here but for one
# call: the fan-out function's webhooks/report-outcome, which arrives from
# outside the VPC (see the README's design choices).

locals {
  report_route_key = "POST /internal/v1/webhooks/report-outcome"

  # Reports come at the fan-out's pace, not the API clients': at most
  # batch x concurrency attempts are in flight, each ending in a report (two
  # when the connector missed earlier ones). A throttled report (429) makes
  # the attempt be made again, so the route gets room for all of them, and
  # for attempts as short as 100 ms.
  report_burst = 2 * var.webhook_fanout_batch_size * var.webhook_fanout_max_concurrency
  report_rate  = 10 * var.webhook_fanout_batch_size * var.webhook_fanout_max_concurrency
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

resource "aws_apigatewayv2_vpc_link" "this" {
  name               = var.name
  subnet_ids         = aws_subnet.public[*].id
  security_group_ids = [aws_security_group.api_link.id]

  tags = local.tags
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  description   = "REST API of the ${var.name} WhatsApp gateway"
  protocol_type = "HTTP"

  tags = local.tags
}

resource "aws_apigatewayv2_integration" "connector" {
  api_id             = aws_apigatewayv2_api.this.id
  integration_type   = "HTTP_PROXY"
  integration_method = "ANY"
  integration_uri    = aws_service_discovery_service.connector.arn
  connection_type    = "VPC_LINK"
  connection_id      = aws_apigatewayv2_vpc_link.this.id

  payload_format_version = "1.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "all" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.connector.id}"
}

# The one internal call that may come through: the connector checks its bearer
# token (INTERNAL_API_TOKEN), compared in constant time.
resource "aws_apigatewayv2_route" "report_outcome" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = local.report_route_key
  target    = "integrations/${aws_apigatewayv2_integration.connector.id}"
}

# Every other internal path, any method: IAM authorization that no role here
# is granted, so API Gateway answers 403 before the connector is asked. (A
# signed request would still carry SigV4, not the bearer token, in
# Authorization, and the connector would refuse it.) The more specific route
# above wins for the report call.
resource "aws_apigatewayv2_route" "internal_closed" {
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = "ANY /internal/{proxy+}"
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.connector.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttle_rate
    throttling_burst_limit = var.api_throttle_burst
  }

  route_settings {
    route_key              = aws_apigatewayv2_route.report_outcome.route_key
    throttling_rate_limit  = local.report_rate
    throttling_burst_limit = local.report_burst
  }

  # Access logs without the Authorization header or bodies.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      method    = "$context.httpMethod"
      path      = "$context.path"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      upstream  = "$context.integration.status"
      error     = "$context.integration.error"
    })
  }

  tags = local.tags
}
