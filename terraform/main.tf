# The gateway's AWS deployment: the wa-gateway module with this deployment's
# choices. Copy terraform.tfvars.example to terraform.tfvars and edit it; every
# other module input keeps its default (see README.md for the full list).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "app"        = "wa-gateway"
      "managed-by" = "terraform"
    }
  }
}

module "gateway" {
  source = "./modules/wa-gateway"

  name = var.name
  tags = var.tags

  connector_image            = var.connector_image
  connector_cpu_architecture = var.connector_cpu_architecture
  api_users                  = var.api_users
  api_keys                   = var.api_keys
  webhook_urls               = var.webhook_urls

  media_prefix          = var.media_prefix
  media_expiration_days = var.media_expiration_days
  media_force_destroy   = var.media_force_destroy

  db_instance_class      = var.db_instance_class
  db_multi_az            = var.db_multi_az
  db_max_connections     = var.db_max_connections
  db_shared_buffers_mb   = var.db_shared_buffers_mb
  db_work_mem_mb         = var.db_work_mem_mb
  db_max_wal_size_mb     = var.db_max_wal_size_mb
  db_deletion_protection = var.db_deletion_protection
  db_skip_final_snapshot = var.db_skip_final_snapshot

  lambda_architecture         = var.lambda_architecture
  webhook_fanout_package      = var.webhook_fanout_package
  secrets_extension_layer_arn = var.secrets_extension_layer_arn
  media_transcode_package     = var.media_transcode_package
  ffmpeg_layer_package        = var.ffmpeg_layer_package
}
