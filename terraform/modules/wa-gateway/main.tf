# The gateway's cloud mode on AWS. One file per concern:
#
#   network.tf   VPC, public subnets (connector, VPC link), private subnets (database)
#   s3.tf        the media bucket
#   database.tf  RDS PostgreSQL and its parameter group
#   queue.tf     the webhook event queue and its dead-letter queue
#   secrets.tf   generated secrets in Secrets Manager
#   lambda.tf    webhook fan-out and media transcoding functions
#   connector.tf the connector on ECS Fargate (exactly one task)
#   api.tf       the public HTTPS endpoint (API Gateway -> VPC link -> connector)
#   iam.tf       one role per workload, each with only what it uses

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_availability_zones" "available" {
  state = "available"
}

# A short random suffix keeps globally or account-wide unique names (final
# snapshot, secrets) from colliding with leftovers of an earlier deployment.
resource "random_id" "suffix" {
  byte_length = 3
}

locals {
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  suffix     = random_id.suffix.hex

  tags = merge(var.tags, { "wa-gateway:deployment" = var.name })

  # Media keys: "<prefix>/..." (or the bucket root when the prefix is empty).
  media_key_prefix = var.media_prefix == "" ? "" : "${var.media_prefix}/"
  # Uploads under incoming/ are transcoded; results are written to transcoded/.
  incoming_prefix   = "${local.media_key_prefix}incoming/"
  transcoded_prefix = "${local.media_key_prefix}transcoded/"

  azs = slice(data.aws_availability_zones.available.names, 0, var.availability_zone_count)

  # Ports of the webhook receivers, which the connector must be able to reach.
  webhook_ports = toset([
    for url in var.webhook_urls :
    try(regex("^[a-z]+://[^/?#]*:([0-9]+)", url)[0], startswith(url, "https:") ? "443" : "80")
  ])

  fanout_enabled    = var.webhook_fanout_package != null
  transcode_enabled = var.media_transcode_package != null
}
