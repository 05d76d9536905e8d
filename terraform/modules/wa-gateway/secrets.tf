# Generated secrets, kept in Secrets Manager (encrypted with the account's
# aws/secretsmanager key) and handed to the connector by ECS at task start.
# None of them is an output in clear; they do live in the Terraform state,
# which therefore belongs in an encrypted, access-controlled backend.

# Letters and digits only: the password goes into a postgres:// URI as is.
resource "random_password" "database" {
  length  = 40
  special = false
}

resource "random_password" "webhook" {
  length  = 48
  special = false
}

resource "random_password" "api" {
  for_each = toset(var.api_users)

  length  = 32
  special = false
}

locals {
  # DB_URI as the connector reads it; pool_size= is taken out by the connector
  # before the rest goes to the driver.
  database_uri = format(
    "postgres://%s:%s@%s:%d/%s?pool_size=%d",
    var.db_username,
    random_password.database.result,
    aws_db_instance.this.address,
    aws_db_instance.this.port,
    var.db_name,
    var.db_pool_size,
  )

  # APP_BASIC_AUTH: user:pass,user2:pass2
  basic_auth = join(",", [for user in var.api_users : "${user}:${random_password.api[user].result}"])
}

resource "aws_secretsmanager_secret" "database" {
  name                    = "${var.name}/database-${local.suffix}"
  description             = "PostgreSQL credentials of ${var.name}; key `uri` is the connector's DB_URI."
  recovery_window_in_days = var.secret_recovery_window_days

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "database" {
  secret_id = aws_secretsmanager_secret.database.id
  secret_string = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.db_name
    username = var.db_username
    password = random_password.database.result
    uri      = local.database_uri
  })
}

resource "aws_secretsmanager_secret" "webhook" {
  name                    = "${var.name}/webhook-secret-${local.suffix}"
  description             = "HMAC key of the X-Hub-Signature-256 header on ${var.name}'s webhooks (WHATSAPP_WEBHOOK_SECRET)."
  recovery_window_in_days = var.secret_recovery_window_days

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "webhook" {
  secret_id     = aws_secretsmanager_secret.webhook.id
  secret_string = random_password.webhook.result
}

resource "aws_secretsmanager_secret" "api" {
  name                    = "${var.name}/api-basic-auth-${local.suffix}"
  description             = "Basic-auth accounts of ${var.name}'s REST API as user:pass,user2:pass2 (APP_BASIC_AUTH)."
  recovery_window_in_days = var.secret_recovery_window_days

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "api" {
  secret_id     = aws_secretsmanager_secret.api.id
  secret_string = local.basic_auth
}
