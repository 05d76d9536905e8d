output "api_url" {
  description = "HTTPS URL of the gateway's REST API."
  value       = module.gateway.api_url
}

output "api_basic_auth" {
  description = "Basic-auth accounts of the REST API (user:pass,...); `terraform output -raw api_basic_auth`."
  value       = module.gateway.api_basic_auth
  sensitive   = true
}

output "webhook_secret_arn" {
  description = "Secrets Manager secret with the webhook HMAC key."
  value       = module.gateway.webhook_secret_arn
}

output "media_bucket" {
  description = "Name of the S3 media bucket."
  value       = module.gateway.media_bucket
}

output "media_uri" {
  description = "The connector's MEDIA_URI."
  value       = module.gateway.media_uri
}

output "database_endpoint" {
  description = "host:port of the PostgreSQL instance (private)."
  value       = module.gateway.database_endpoint
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database credentials and DB_URI."
  value       = module.gateway.database_secret_arn
}

output "database_final_snapshot" {
  description = "Snapshot kept by `terraform destroy` (null when skipped)."
  value       = module.gateway.database_final_snapshot
}

output "queue_url" {
  description = "URL of the webhook event queue."
  value       = module.gateway.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.gateway.dead_letter_queue_url
}

output "webhook_fanout_function" {
  description = "Name of the webhook fan-out function (null when not deployed)."
  value       = module.gateway.webhook_fanout_function
}

output "media_transcode_function" {
  description = "Name of the media transcoding function (null when not deployed)."
  value       = module.gateway.media_transcode_function
}

output "connector_cluster" {
  description = "ECS cluster of the connector."
  value       = module.gateway.connector_cluster
}

output "connector_service" {
  description = "ECS service of the connector."
  value       = module.gateway.connector_service
}

output "connector_log_group" {
  description = "CloudWatch log group of the connector."
  value       = module.gateway.connector_log_group
}
