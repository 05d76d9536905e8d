# One role per workload; each policy names the actions it uses and the
# resources it uses them on. No wildcard actions, no "*" resources except
# where AWS defines none (ecr:GetAuthorizationToken).

locals {
  media_objects_arn = "${aws_s3_bucket.media.arn}/${local.media_key_prefix}*"

  # An image in this account's ECR gets pull rights on its repository only.
  connector_ecr = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.connector_image), null)
  connector_ecr_repository_arn = (
    local.connector_ecr == null ? null :
    "arn:${local.partition}:ecr:${local.connector_ecr[1]}:${local.connector_ecr[0]}:repository/${local.connector_ecr[2]}"
  )
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ---------------------------------------------------------------- webhook fan-out

resource "aws_iam_role" "fanout" {
  name               = "${var.name}-webhook-fanout"
  description        = "The webhook fan-out function: drains the event queue, reads the webhook secret and the connector token."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "fanout" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.fanout.arn}:*"]
  }

  statement {
    sid = "ConsumeEvents"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.events.arn]
  }

  statement {
    sid       = "WebhookSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.webhook.arn]
  }

  # Reports to the connector carry the internal endpoint's token.
  statement {
    sid       = "ConnectorToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.internal_api.arn]
  }
}

resource "aws_iam_role_policy" "fanout" {
  name   = "webhook-fanout"
  role   = aws_iam_role.fanout.id
  policy = data.aws_iam_policy_document.fanout.json
}

# ---------------------------------------------------------------- media transcoding

resource "aws_iam_role" "transcode" {
  name               = "${var.name}-media-transcode"
  description        = "The media transcoding function: reads uploads under incoming/, writes results under transcoded/."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "transcode" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.transcode.arn}:*"]
  }

  statement {
    sid       = "ReadIncoming"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.media.arn}/${local.incoming_prefix}*"]
  }

  # GetObject here is for HEAD: a result that exists is not made again.
  statement {
    sid       = "WriteTranscoded"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.media.arn}/${local.transcoded_prefix}*"]
  }

  # Without ListBucket, HEAD of a result not made yet answers 403 instead of 404.
  statement {
    sid       = "ListTranscoded"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.transcoded_prefix}*"]
    }
  }
}

resource "aws_iam_role_policy" "transcode" {
  name   = "media-transcode"
  role   = aws_iam_role.transcode.id
  policy = data.aws_iam_policy_document.transcode.json
}

# ---------------------------------------------------------------- connector: task execution

# Used by ECS itself to start the task: pull the image, write the log stream,
# resolve the secrets into the container's environment.
resource "aws_iam_role" "connector_execution" {
  name               = "${var.name}-connector-execution"
  description        = "ECS starts the connector task with this role: image pull, logs, secrets."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "connector_execution" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.connector.arn}:*"]
  }

  statement {
    sid     = "Secrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = concat(
      [
        aws_secretsmanager_secret.database.arn,
        aws_secretsmanager_secret.webhook.arn,
        aws_secretsmanager_secret.api.arn,
        aws_secretsmanager_secret.internal_api.arn,
      ],
      aws_secretsmanager_secret.api_keys[*].arn,
    )
  }

  dynamic "statement" {
    for_each = local.connector_ecr_repository_arn == null ? [] : [1]
    content {
      sid = "PullImage"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = [local.connector_ecr_repository_arn]
    }
  }

  # GetAuthorizationToken has no resource type: "*" is the only valid value.
  dynamic "statement" {
    for_each = local.connector_ecr_repository_arn == null ? [] : [1]
    content {
      sid       = "RegistryLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "connector_execution" {
  name   = "connector-execution"
  role   = aws_iam_role.connector_execution.id
  policy = data.aws_iam_policy_document.connector_execution.json
}

# ---------------------------------------------------------------- connector: the process

# What the running connector may do: its media under the prefix, and the
# cloud-mode paths (webhook attempts into the queue, transcoding on demand).
resource "aws_iam_role" "connector_task" {
  name               = "${var.name}-connector"
  description        = "The running connector: media objects under its prefix, the event queue, the transcoding function."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "connector_task" {
  statement {
    sid = "MediaObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = [local.media_objects_arn]
  }

  # Without ListBucket, HEAD of a missing key answers 403 instead of 404.
  statement {
    sid       = "MediaListing"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.media_key_prefix}*"]
    }
  }

  # WEBHOOK_QUEUE_URL: the connector only sends (one message per attempt),
  # and only while the fan-out function is there to drain the queue.
  dynamic "statement" {
    for_each = local.fanout_enabled ? [1] : []
    content {
      sid       = "QueueAttempts"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.events.arn]
    }
  }

  dynamic "statement" {
    for_each = local.transcode_enabled ? [1] : []
    content {
      sid       = "Transcode"
      actions   = ["lambda:InvokeFunction"]
      resources = [aws_lambda_function.transcode[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "connector_task" {
  name   = "connector"
  role   = aws_iam_role.connector_task.id
  policy = data.aws_iam_policy_document.connector_task.json
}
