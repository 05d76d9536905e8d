output "api_url" {
  description = "HTTPS URL of the gateway's REST API (e.g. <api_url>/app/info)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "api_basic_auth" {
  description = "The REST API's basic-auth accounts as user:pass,... (APP_BASIC_AUTH). Read with `terraform output -raw api_basic_auth`."
  value       = local.basic_auth
  sensitive   = true
}

output "api_credentials_secret_arn" {
  description = "Secrets Manager secret holding APP_BASIC_AUTH."
  value       = aws_secretsmanager_secret.api.arn
}

output "webhook_secret_arn" {
  description = "Secrets Manager secret holding the webhook HMAC key (WHATSAPP_WEBHOOK_SECRET); receivers verify X-Hub-Signature-256 with it."
  value       = aws_secretsmanager_secret.webhook.arn
}

output "internal_api_token_secret_arn" {
  description = "Secrets Manager secret holding the internal endpoint's bearer token (the connector's INTERNAL_API_TOKEN; the fan-out function's CONNECTOR_TOKEN_ARN)."
  value       = aws_secretsmanager_secret.internal_api.arn
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database credentials (JSON; key `uri` is DB_URI)."
  value       = aws_secretsmanager_secret.database.arn
}

output "media_bucket" {
  description = "Name of the S3 media bucket."
  value       = aws_s3_bucket.media.id
}

output "media_uri" {
  description = "The connector's MEDIA_URI (s3://bucket/prefix)."
  value       = local.connector_environment["MEDIA_URI"]
}

output "media_incoming_prefix" {
  description = "Objects created under this key prefix are transcoded (when the function is deployed and transcode_on_upload is on)."
  value       = local.incoming_prefix
}

output "database_endpoint" {
  description = "host:port of the PostgreSQL instance (private: reachable from the connector's security group only)."
  value       = aws_db_instance.this.endpoint
}

output "database_name" {
  description = "Name of the gateway's database."
  value       = var.db_name
}

output "database_final_snapshot" {
  description = "Identifier of the snapshot `terraform destroy` keeps (null when db_skip_final_snapshot is on)."
  value       = aws_db_instance.this.final_snapshot_identifier
}

output "queue_url" {
  description = "URL of the SQS queue the connector puts webhook attempts on for the fan-out function (its WEBHOOK_QUEUE_URL when the function is deployed)."
  value       = aws_sqs_queue.events.id
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue: events the fan-out gave up on, ready to inspect and redrive."
  value       = aws_sqs_queue.events_dlq.id
}

output "webhook_fanout_function" {
  description = "Name of the webhook fan-out function (null when no package was given)."
  value       = one(aws_lambda_function.fanout[*].function_name)
}

output "media_transcode_function" {
  description = "Name of the media transcoding function, for `aws lambda invoke` (null when no package was given)."
  value       = one(aws_lambda_function.transcode[*].function_name)
}

output "connector_cluster" {
  description = "ECS cluster running the connector."
  value       = aws_ecs_cluster.this.name
}

output "connector_service" {
  description = "ECS service of the connector (one task)."
  value       = aws_ecs_service.connector.name
}

output "connector_log_group" {
  description = "CloudWatch log group of the connector (`aws logs tail <group> --follow`)."
  value       = aws_cloudwatch_log_group.connector.name
}

output "vpc_id" {
  description = "The VPC the module created."
  value       = aws_vpc.this.id
}
