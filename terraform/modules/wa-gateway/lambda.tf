# The two AWS Lambda functions, both `bootstrap` binaries on provided.al2023,
# outside the VPC (they need no database and no NAT).

locals {
  fanout_function_name    = "${var.name}-webhook-fanout"
  transcode_function_name = "${var.name}-media-transcode"

  # What webhook-fanout-lambda reads (functions/webhook-fanout-lambda/src/
  # config.rs). Each queue message names its receiver, so no URLs here; the
  # HMAC key for receivers without their own and the connector's token are
  # read through the Parameters and Secrets extension (its layer below) at
  # the first invocation, never kept in the configuration. A batch's attempts
  # all run at once. Outcomes are reported through the public endpoint, whose
  # one route for them reaches the connector over the VPC link (api.tf): the
  # function stays outside the VPC (see the README's design choices).
  fanout_environment = {
    WHATSAPP_WEBHOOK_SECRET_ARN   = aws_secretsmanager_secret.webhook.arn
    WEBHOOK_CONCURRENT_DELIVERIES = tostring(var.webhook_fanout_batch_size)
    CONNECTOR_URL                 = aws_apigatewayv2_stage.default.invoke_url
    CONNECTOR_TOKEN_ARN           = aws_secretsmanager_secret.internal_api.arn
  }

  # What media-transcode-lambda reads (src/bin/media-transcode-lambda.rs):
  # uploads under <MEDIA_PREFIX>/incoming/ become results under
  # <MEDIA_PREFIX>/transcoded/ (local.incoming_prefix / transcoded_prefix).
  transcode_environment = {
    FFMPEG_PATH            = "/opt/bin/ffmpeg"
    TRANSCODE_TIMEOUT_SECS = tostring(var.transcode_timeout_seconds)
    MEDIA_PREFIX           = var.media_prefix
  }
}

resource "aws_cloudwatch_log_group" "fanout" {
  name              = "/aws/lambda/${local.fanout_function_name}"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "transcode" {
  name              = "/aws/lambda/${local.transcode_function_name}"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

# ---------------------------------------------------------------- webhook fan-out

resource "aws_lambda_function" "fanout" {
  count = local.fanout_enabled ? 1 : 0

  function_name    = local.fanout_function_name
  description      = "Delivers queued gateway events to the webhook receivers, HMAC-signed."
  role             = aws_iam_role.fanout.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = var.webhook_fanout_package
  source_code_hash = filebase64sha256(var.webhook_fanout_package)
  layers           = [var.secrets_extension_layer_arn]
  memory_size      = var.webhook_fanout_memory_mb
  timeout          = var.webhook_fanout_timeout_seconds

  environment {
    variables = local.fanout_environment
  }

  depends_on = [
    aws_cloudwatch_log_group.fanout,
    aws_iam_role_policy.fanout,
    aws_secretsmanager_secret_version.internal_api,
  ]

  tags = local.tags
}

resource "aws_lambda_event_source_mapping" "fanout" {
  count = local.fanout_enabled ? 1 : 0

  event_source_arn = aws_sqs_queue.events.arn
  function_name    = aws_lambda_function.fanout[0].arn
  batch_size       = var.webhook_fanout_batch_size
  # Only the failed items of a batch come back (batchItemFailures), not the batch.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.webhook_fanout_max_concurrency
  }
}

# ---------------------------------------------------------------- media transcoding

resource "aws_lambda_layer_version" "ffmpeg" {
  count = local.transcode_enabled ? 1 : 0

  layer_name               = "${var.name}-ffmpeg"
  description              = "ffmpeg at /opt/bin/ffmpeg"
  filename                 = var.ffmpeg_layer_package
  source_code_hash         = filebase64sha256(var.ffmpeg_layer_package)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.lambda_architecture]
}

resource "aws_lambda_function" "transcode" {
  count = local.transcode_enabled ? 1 : 0

  function_name    = local.transcode_function_name
  description      = "Transcodes media with ffmpeg (voice notes to Opus/OGG, ...)."
  role             = aws_iam_role.transcode.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = var.media_transcode_package
  source_code_hash = filebase64sha256(var.media_transcode_package)
  layers           = [aws_lambda_layer_version.ffmpeg[0].arn]
  memory_size      = var.transcode_memory_mb
  timeout          = var.transcode_timeout_seconds

  ephemeral_storage {
    size = var.transcode_tmp_storage_mb
  }

  environment {
    variables = local.transcode_environment
  }

  depends_on = [aws_cloudwatch_log_group.transcode, aws_iam_role_policy.transcode]

  tags = local.tags
}

# S3 events arrive asynchronously: retry once, then give up on events older
# than an hour (the upload itself stays under incoming/ until it expires).
resource "aws_lambda_function_event_invoke_config" "transcode" {
  count = local.transcode_enabled ? 1 : 0

  function_name                = aws_lambda_function.transcode[0].function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "transcode_from_s3" {
  count = local.transcode_enabled && var.transcode_on_upload ? 1 : 0

  statement_id   = "AllowMediaBucketIncoming"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.transcode[0].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.media.arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "media" {
  count = local.transcode_enabled && var.transcode_on_upload ? 1 : 0

  bucket = aws_s3_bucket.media.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.transcode[0].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.incoming_prefix
  }

  depends_on = [aws_lambda_permission.transcode_from_s3]
}
