# The media bucket: private, encrypted, TLS-only, with old media expiring.

resource "aws_s3_bucket" "media" {
  bucket        = var.media_bucket_name
  bucket_prefix = var.media_bucket_name == null ? "${var.name}-media-" : null
  force_destroy = var.media_force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket = aws_s3_bucket.media.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# No ACLs at all: access is decided by IAM and the bucket policy only.
resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "media" {
  count = var.media_versioning ? 1 : 0

  bucket = aws_s3_bucket.media.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  # The seed's `find -delete` cron, built in: media older than N days goes.
  rule {
    id     = "expire-media"
    status = "Enabled"

    filter {
      prefix = local.media_key_prefix
    }

    expiration {
      days = var.media_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.media_noncurrent_expiration_days
    }
  }

  # Transcoding inputs are only needed until they are transcoded.
  rule {
    id     = "expire-incoming"
    status = "Enabled"

    filter {
      prefix = local.incoming_prefix
    }

    expiration {
      days = var.media_incoming_expiration_days
    }
  }

  # The connector aborts failed multipart uploads itself; this catches the
  # ones a crash left behind.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Versioning must be on (or off) before the rules refer to versions.
  depends_on = [aws_s3_bucket_versioning.media]
}

data "aws_iam_policy_document" "media_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.media.arn,
      "${aws_s3_bucket.media.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = data.aws_iam_policy_document.media_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.media]
}
