# Generated secrets (and the API keys, when given), kept in Secrets Manager
# (encrypted with the account's aws/secretsmanager key) and handed to the
# connector by ECS at task start; the fan-out function reads its two through
# the Parameters and Secrets extension. None of them is an output in clear;
# they do live in the Terraform state, which therefore belongs in an
# encrypted, access-controlled backend.

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

# The internal endpoint's bearer token: the connector's INTERNAL_API_TOKEN and
# the fan-out function's CONNECTOR_TOKEN_ARN name the same secret, so the two
# can never disagree.
resource "random_password" "internal_api" {
  length  = 48
  special = false
}

locals {
  # DB_URI as the connector reads it; pool_size= is taken out by the connector
  # before the rest goes to the driver.
  # TLS with the chain and host name checked against the RDS CA bundle the
  # connector's image carries (terraform/docker/connector.Dockerfile).
  database_uri = format(
    "postgres://%s:%s@%s:%d/%s?pool_size=%d&sslmode=verify-full&sslrootcert=/etc/ssl/certs/rds-global-bundle.pem",
    var.db_username,
    random_password.database.result,
    aws_db_instance.this.address,
    aws_db_instance.this.port,
    var.db_name,
    var.db_pool_size,
  )

  # APP_BASIC_AUTH: user:pass,user2:pass2
  basic_auth = join(",", [for user in var.api_users : "${user}:${random_password.api[user].result}"])

  # Whether API keys were given. Only this yes/no is declassified (count cannot
  # take a sensitive value); the keys themselves stay sensitive.
  api_keys_given = nonsensitive(var.api_keys != "")
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

resource "aws_secretsmanager_secret" "internal_api" {
  name                    = "${var.name}/internal-api-token-${local.suffix}"
  description             = "Bearer token of ${var.name}'s internal endpoint /internal/v1/ (the connector's INTERNAL_API_TOKEN; the fan-out function reports outcomes with it)."
  recovery_window_in_days = var.secret_recovery_window_days

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "internal_api" {
  secret_id     = aws_secretsmanager_secret.internal_api.id
  secret_string = random_password.internal_api.result
}

# API keys are given, not generated (clients already hold them): a secret only
# when there are some.
resource "aws_secretsmanager_secret" "api_keys" {
  count = local.api_keys_given ? 1 : 0

  name                    = "${var.name}/api-keys-${local.suffix}"
  description             = "API keys of ${var.name}'s REST API as name:key or name:sha256:<hex>, comma-separated (APP_API_KEYS)."
  recovery_window_in_days = var.secret_recovery_window_days

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "api_keys" {
  count = local.api_keys_given ? 1 : 0

  secret_id     = aws_secretsmanager_secret.api_keys[0].id
  secret_string = var.api_keys
}
