# The inputs most deployments set. They mirror the module's variables of the
# same name (same defaults); the rest are in modules/wa-gateway/variables.tf.

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the deployment: prefix of every resource name."
  type        = string
  default     = "wa-gateway"
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "connector_image" {
  description = "Container image of the connector, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/wa-connector:v1."
  type        = string
}

variable "connector_cpu_architecture" {
  description = "CPU architecture of the connector image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"
}

variable "api_users" {
  description = "Basic-auth users of the REST API; their passwords are generated."
  type        = list(string)
  default     = ["admin"]
}

variable "api_keys" {
  description = "API keys of the REST API (name:key or name:sha256:<hex>, comma-separated); empty: none. Sensitive: pass it as TF_VAR_api_keys rather than in a file."
  type        = string
  default     = ""
  sensitive   = true
}

variable "webhook_urls" {
  description = "Webhook URLs that receive every event."
  type        = list(string)
  default     = []
}

variable "media_prefix" {
  description = "Key prefix of the connector's media in the bucket."
  type        = string
  default     = "media"
}

variable "media_expiration_days" {
  description = "Media objects are deleted this many days after they were written."
  type        = number
  default     = 30
}

variable "media_force_destroy" {
  description = "Let `terraform destroy` delete the media bucket with its objects."
  type        = bool
  default     = false
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_multi_az" {
  description = "Run a standby database in a second availability zone."
  type        = bool
  default     = false
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections."
  type        = number
  default     = 100
}

variable "db_shared_buffers_mb" {
  description = "PostgreSQL shared_buffers in MiB (0: RDS's default)."
  type        = number
  default     = 0
}

variable "db_work_mem_mb" {
  description = "PostgreSQL work_mem in MiB."
  type        = number
  default     = 4
}

variable "db_max_wal_size_mb" {
  description = "PostgreSQL max_wal_size in MiB."
  type        = number
  default     = 2048
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database; set false and apply before `terraform destroy`."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Delete the database on destroy without keeping a final snapshot."
  type        = bool
  default     = false
}

variable "lambda_architecture" {
  description = "CPU architecture of the Lambda packages and the ffmpeg layer: x86_64 or arm64."
  type        = string
  default     = "x86_64"
}

variable "webhook_fanout_package" {
  description = "Path to the webhook fan-out function's zip; null skips the function."
  type        = string
  default     = null
}

variable "secrets_extension_layer_arn" {
  description = "ARN of the AWS Parameters and Secrets Lambda Extension layer for the region and architecture; required with webhook_fanout_package."
  type        = string
  default     = null
}

variable "media_transcode_package" {
  description = "Path to the media-transcode function's zip; null skips the function."
  type        = string
  default     = null
}

variable "ffmpeg_layer_package" {
  description = "Path to the ffmpeg layer zip (bin/ffmpeg inside); required with media_transcode_package."
  type        = string
  default     = null
}
