# ---------------------------------------------------------------- general

variable "name" {
  description = "Name of the deployment: prefix of every resource name (lowercase letters, digits, hyphens)."
  type        = string
  default     = "wa-gateway"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the connector's, the functions' and the API's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

# ---------------------------------------------------------------- network

variable "vpc_cidr" {
  description = "CIDR block of the VPC the module creates (a /16 to /24)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /24."
  }
}

variable "availability_zone_count" {
  description = "Availability zones to spread subnets over (RDS needs at least two)."
  type        = number
  default     = 2

  validation {
    condition     = var.availability_zone_count >= 2 && var.availability_zone_count <= 3
    error_message = "availability_zone_count must be 2 or 3."
  }
}

# ---------------------------------------------------------------- media bucket

variable "media_bucket_name" {
  description = "Name of the media bucket; null lets AWS derive a unique one from the deployment name."
  type        = string
  default     = null

  validation {
    condition     = var.media_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.media_bucket_name))
    error_message = "media_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "media_prefix" {
  description = "Key prefix of the connector's media in the bucket (MEDIA_URI=s3://bucket/PREFIX); empty for the bucket root."
  type        = string
  default     = "media"

  validation {
    condition     = var.media_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.media_prefix))
    error_message = "media_prefix must be empty or path segments without leading or trailing slashes."
  }
}

variable "media_expiration_days" {
  description = "Media objects are deleted this many days after they were written (the built-in form of the seed's cron cleanup)."
  type        = number
  default     = 30

  validation {
    condition     = var.media_expiration_days >= 1 && floor(var.media_expiration_days) == var.media_expiration_days
    error_message = "media_expiration_days must be a whole number of days, at least 1."
  }
}

variable "media_incoming_expiration_days" {
  description = "Uploads under the incoming/ prefix (transcoding inputs) are deleted after this many days."
  type        = number
  default     = 2

  validation {
    condition     = var.media_incoming_expiration_days >= 1 && floor(var.media_incoming_expiration_days) == var.media_incoming_expiration_days
    error_message = "media_incoming_expiration_days must be a whole number of days, at least 1."
  }
}

variable "media_versioning" {
  description = "Keep previous versions of overwritten or deleted media objects (they expire after media_noncurrent_expiration_days)."
  type        = bool
  default     = false
}

variable "media_noncurrent_expiration_days" {
  description = "With versioning on: previous versions are deleted this many days after they were replaced."
  type        = number
  default     = 7

  validation {
    condition     = var.media_noncurrent_expiration_days >= 1
    error_message = "media_noncurrent_expiration_days must be at least 1."
  }
}

variable "media_force_destroy" {
  description = "Let `terraform destroy` delete the bucket even when it still holds media. Off: the bucket and its objects are retained."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------- database

variable "db_engine_version" {
  description = "PostgreSQL version on RDS: a major version (\"16\") or major.minor (\"16.4\"). The parameter group family follows the major version."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^(1[4-9]|[2-9][0-9])(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 14 or newer, as \"16\" or \"16.4\"."
  }
}

variable "db_instance_class" {
  description = "RDS instance class. The connector is one process with a small pool: a burstable Graviton class is plenty for most users."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage of the database, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 65536
    error_message = "db_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB (0 disables autoscaling)."
  type        = number
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage_gb == 0 || var.db_max_allocated_storage_gb >= var.db_allocated_storage_gb
    error_message = "db_max_allocated_storage_gb must be 0 or at least db_allocated_storage_gb."
  }
}

variable "db_name" {
  description = "Name of the gateway's database."
  type        = string
  default     = "wa"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and hold only lowercase letters, digits and underscores."
  }
}

variable "db_username" {
  description = "The database's master user, which the connector logs in as (its password is generated)."
  type        = string
  default     = "wa"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.db_username)) && !contains(["admin", "postgres", "rdsadmin"], var.db_username)
    error_message = "db_username must be 1-16 lowercase letters, digits, underscores, start with a letter, and not be a reserved name."
  }
}

variable "db_multi_az" {
  description = "Run a standby in a second availability zone (about twice the cost; failover in a minute or two)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database. Turn off (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Delete the database on destroy without a final snapshot. Off: a snapshot named <name>-final-<suffix> is kept."
  type        = bool
  default     = false
}

variable "db_pool_size" {
  description = "Connections in the connector's pool (pool_size= in DB_URI). Keep well under db_max_connections."
  type        = number
  default     = 8

  validation {
    condition     = var.db_pool_size >= 1 && var.db_pool_size <= 256 && var.db_pool_size < var.db_max_connections
    error_message = "db_pool_size must be between 1 and 256 and below db_max_connections."
  }
}

variable "db_force_ssl" {
  description = "Set rds.force_ssl: clients must use TLS (the connector does, with sslmode=verify-full against the RDS CA bundle in its image)."
  type        = bool
  default     = true
}

# The seed's tuning knobs (WAL, connections, memory), as parameter-group values.

variable "db_max_connections" {
  description = "PostgreSQL max_connections (needs a reboot to change)."
  type        = number
  default     = 100

  validation {
    condition     = var.db_max_connections >= 10 && var.db_max_connections <= 5000
    error_message = "db_max_connections must be between 10 and 5000."
  }
}

variable "db_shared_buffers_mb" {
  description = "PostgreSQL shared_buffers in MiB (needs a reboot). About a quarter of the instance's memory; 0 keeps RDS's default formula."
  type        = number
  default     = 0

  validation {
    condition     = var.db_shared_buffers_mb == 0 || (var.db_shared_buffers_mb >= 16 && var.db_shared_buffers_mb <= 262144)
    error_message = "db_shared_buffers_mb must be 0 (RDS default) or between 16 and 262144."
  }
}

variable "db_work_mem_mb" {
  description = "PostgreSQL work_mem in MiB: memory per sort or hash before spilling to disk."
  type        = number
  default     = 4

  validation {
    condition     = var.db_work_mem_mb >= 1 && var.db_work_mem_mb <= 2048
    error_message = "db_work_mem_mb must be between 1 and 2048."
  }
}

variable "db_maintenance_work_mem_mb" {
  description = "PostgreSQL maintenance_work_mem in MiB (vacuum, index builds)."
  type        = number
  default     = 64

  validation {
    condition     = var.db_maintenance_work_mem_mb >= 1 && var.db_maintenance_work_mem_mb <= 2048
    error_message = "db_maintenance_work_mem_mb must be between 1 and 2048."
  }
}

variable "db_wal_buffers_mb" {
  description = "PostgreSQL wal_buffers in MiB (needs a reboot); 0 keeps the automatic size (1/32 of shared_buffers)."
  type        = number
  default     = 0

  validation {
    condition     = var.db_wal_buffers_mb >= 0 && var.db_wal_buffers_mb <= 256
    error_message = "db_wal_buffers_mb must be between 0 and 256."
  }
}

variable "db_min_wal_size_mb" {
  description = "PostgreSQL min_wal_size in MiB: WAL kept for reuse instead of removed at checkpoints."
  type        = number
  default     = 192

  validation {
    condition     = var.db_min_wal_size_mb >= 32 && var.db_min_wal_size_mb < var.db_max_wal_size_mb
    error_message = "db_min_wal_size_mb must be at least 32 and below db_max_wal_size_mb."
  }
}

variable "db_max_wal_size_mb" {
  description = "PostgreSQL max_wal_size in MiB: WAL growth between checkpoints before one is forced."
  type        = number
  default     = 2048

  validation {
    condition     = var.db_max_wal_size_mb >= 64 && var.db_max_wal_size_mb <= 65536
    error_message = "db_max_wal_size_mb must be between 64 and 65536."
  }
}

variable "db_checkpoint_timeout_seconds" {
  description = "PostgreSQL checkpoint_timeout in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.db_checkpoint_timeout_seconds >= 30 && var.db_checkpoint_timeout_seconds <= 86400
    error_message = "db_checkpoint_timeout_seconds must be between 30 and 86400."
  }
}

variable "db_wal_compression" {
  description = "PostgreSQL wal_compression: compress full-page images in the WAL."
  type        = bool
  default     = true
}

variable "db_log_min_duration_ms" {
  description = "Log statements slower than this many milliseconds (-1: off). The database side of the query-time metric."
  type        = number
  default     = 1000

  validation {
    condition     = var.db_log_min_duration_ms >= -1
    error_message = "db_log_min_duration_ms must be -1 (off) or a duration in milliseconds."
  }
}

# ---------------------------------------------------------------- queue

variable "queue_max_receive_count" {
  description = "Deliveries of one event batch item before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000
    error_message = "queue_max_receive_count must be between 1 and 1000."
  }
}

variable "queue_retention_seconds" {
  description = "How long an undelivered event waits in the queue (60 s to 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_retention_seconds >= 60 && var.queue_retention_seconds <= 1209600
    error_message = "queue_retention_seconds must be between 60 and 1209600."
  }
}

variable "dead_letter_retention_seconds" {
  description = "How long dead-lettered events are kept for inspection and replay (60 s to 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dead_letter_retention_seconds >= 60 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds must be between 60 and 1209600."
  }
}

# ---------------------------------------------------------------- functions

variable "lambda_architecture" {
  description = "CPU architecture the Lambda packages (and the ffmpeg layer) were built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "webhook_fanout_package" {
  description = "Path to the webhook fan-out function's zip (a provided.al2023 `bootstrap`). null: the queue is created, the function is not, and the connector makes webhook attempts itself."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_fanout_package == null || endswith(coalesce(var.webhook_fanout_package, "-"), ".zip")
    error_message = "webhook_fanout_package must be a path to a .zip file."
  }
}

variable "secrets_extension_layer_arn" {
  description = "ARN of AWS's Parameters and Secrets Lambda Extension layer for this region and lambda_architecture (see the extension's documentation for the per-region ARNs). The fan-out function reads the webhook HMAC key and the connector token through it. Required with webhook_fanout_package."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_extension_layer_arn != null || var.webhook_fanout_package == null
    error_message = "secrets_extension_layer_arn must be given with webhook_fanout_package."
  }

  validation {
    condition     = var.secrets_extension_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9-_]+:[0-9]+$", coalesce(var.secrets_extension_layer_arn, "-")))
    error_message = "secrets_extension_layer_arn must be a versioned Lambda layer ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)."
  }
}

variable "webhook_urls" {
  description = "Webhook URLs that receive every event (WHATSAPP_WEBHOOK)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for url in var.webhook_urls : can(regex("^https?://[^\\s,]+$", url))])
    error_message = "Every webhook URL must start with http:// or https:// and contain no spaces or commas."
  }
}

variable "webhook_fanout_timeout_seconds" {
  description = "Time limit of one fan-out invocation (one batch). The queue's visibility timeout is six times this."
  type        = number
  default     = 30

  validation {
    condition     = var.webhook_fanout_timeout_seconds >= 3 && var.webhook_fanout_timeout_seconds <= 900
    error_message = "webhook_fanout_timeout_seconds must be between 3 and 900."
  }
}

variable "webhook_fanout_memory_mb" {
  description = "Memory of the fan-out function in MiB."
  type        = number
  default     = 128

  validation {
    condition     = var.webhook_fanout_memory_mb >= 128 && var.webhook_fanout_memory_mb <= 10240
    error_message = "webhook_fanout_memory_mb must be between 128 and 10240."
  }
}

variable "webhook_fanout_batch_size" {
  description = "Queue messages handed to one fan-out invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_fanout_batch_size >= 1 && var.webhook_fanout_batch_size <= 100
    error_message = "webhook_fanout_batch_size must be between 1 and 100 (more needs a batching window)."
  }
}

variable "webhook_fanout_max_concurrency" {
  description = "Most concurrent fan-out invocations the queue starts (2-1000): a bound on parallel deliveries to receivers."
  type        = number
  default     = 5

  validation {
    condition     = var.webhook_fanout_max_concurrency >= 2 && var.webhook_fanout_max_concurrency <= 1000
    error_message = "webhook_fanout_max_concurrency must be between 2 and 1000."
  }
}

variable "media_transcode_package" {
  description = "Path to the media-transcode function's zip (`bootstrap` of media-transcode-lambda). null: no transcoding function."
  type        = string
  default     = null

  validation {
    condition     = var.media_transcode_package == null || endswith(coalesce(var.media_transcode_package, "-"), ".zip")
    error_message = "media_transcode_package must be a path to a .zip file."
  }
}

variable "ffmpeg_layer_package" {
  description = "Path to a zip holding an ffmpeg executable at bin/ffmpeg (it lands at /opt/bin/ffmpeg), built for lambda_architecture. Required with media_transcode_package."
  type        = string
  default     = null

  validation {
    condition     = (var.ffmpeg_layer_package == null) == (var.media_transcode_package == null)
    error_message = "ffmpeg_layer_package must be given exactly when media_transcode_package is."
  }
}

variable "transcode_on_upload" {
  description = "Invoke the transcoding function for every object created under <media_prefix>/incoming/ (it can always be invoked directly too)."
  type        = bool
  default     = true
}

variable "transcode_timeout_seconds" {
  description = "Time limit of one transcoding invocation in seconds (ffmpeg gets what is left minus a margin)."
  type        = number
  default     = 300

  validation {
    condition     = var.transcode_timeout_seconds >= 10 && var.transcode_timeout_seconds <= 900
    error_message = "transcode_timeout_seconds must be between 10 and 900."
  }
}

variable "transcode_memory_mb" {
  description = "Memory of the transcoding function in MiB (CPU grows with it; ffmpeg likes 1769+ for a full vCPU)."
  type        = number
  default     = 2048

  validation {
    condition     = var.transcode_memory_mb >= 512 && var.transcode_memory_mb <= 10240
    error_message = "transcode_memory_mb must be between 512 and 10240."
  }
}

variable "transcode_tmp_storage_mb" {
  description = "Size of the transcoding function's /tmp in MiB (input and output files live there)."
  type        = number
  default     = 2048

  validation {
    condition     = var.transcode_tmp_storage_mb >= 512 && var.transcode_tmp_storage_mb <= 10240
    error_message = "transcode_tmp_storage_mb must be between 512 and 10240."
  }
}

# ---------------------------------------------------------------- connector

variable "connector_image" {
  description = "Container image of the connector (wa-connector + http_api.wasm; see terraform/docker/connector.Dockerfile), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/wa-connector:v1."
  type        = string

  validation {
    condition     = length(trimspace(var.connector_image)) > 0 && !can(regex("\\s", var.connector_image))
    error_message = "connector_image must be an image reference without spaces."
  }
}

variable "connector_cpu_architecture" {
  description = "CPU architecture of the connector image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.connector_cpu_architecture)
    error_message = "connector_cpu_architecture must be X86_64 or ARM64."
  }
}

variable "connector_cpu" {
  description = "Fargate CPU units of the connector task (256 = a quarter vCPU)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.connector_cpu)
    error_message = "connector_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "connector_memory_mb" {
  description = "Memory of the connector task in MiB (must be a combination Fargate offers for connector_cpu)."
  type        = number
  default     = 1024

  validation {
    condition     = var.connector_memory_mb >= 512 && var.connector_memory_mb <= 30720
    error_message = "connector_memory_mb must be between 512 and 30720."
  }
}

variable "app_port" {
  description = "Port the connector's HTTP front listens on inside the task (APP_PORT)."
  type        = number
  default     = 3000

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "app_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "app_debug" {
  description = "Verbose connector logs (APP_DEBUG)."
  type        = bool
  default     = false
}

variable "app_request_timeout" {
  description = "How long one API request may run in the connector (APP_REQUEST_TIMEOUT), e.g. 30s. API Gateway gives up after 30 s whatever this says."
  type        = string
  default     = "29s"

  validation {
    condition     = can(regex("^[1-9][0-9]*(ms|s|m)?$", var.app_request_timeout))
    error_message = "app_request_timeout must be a duration such as 500ms, 29s or 2m."
  }
}

variable "api_users" {
  description = "Basic-auth users of the REST API (APP_BASIC_AUTH); a password is generated for each and kept in Secrets Manager."
  type        = list(string)
  default     = ["admin"]

  validation {
    condition     = length(var.api_users) >= 1 && alltrue([for user in var.api_users : can(regex("^[A-Za-z0-9._-]{1,64}$", user))])
    error_message = "api_users needs at least one user; names use letters, digits, dots, underscores, hyphens (no colons or commas)."
  }
}

variable "api_keys" {
  description = "API keys of the REST API (APP_API_KEYS): name:key (keys of 16+ characters) or name:sha256:<hex digest>, comma-separated. Kept in Secrets Manager and passed as an ECS secret; empty: none, basic auth only. Prefer the digest form: the state holds this value."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition = var.api_keys == "" || alltrue([
      for entry in split(",", var.api_keys) :
      trimspace(entry) == "" || can(regex("^[^:\\s]+:(sha256:[0-9A-Fa-f]{64}|[^\\s]{16,})$", trimspace(entry)))
    ])
    error_message = "api_keys must be comma-separated name:key entries (keys of at least 16 characters) or name:sha256:<64 hex digits>."
  }
}

variable "api_throttle_rate" {
  description = "Steady-state requests per second the public endpoint lets through (API Gateway throttling)."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttle_rate > 0
    error_message = "api_throttle_rate must be positive."
  }
}

variable "api_throttle_burst" {
  description = "Burst of requests the public endpoint lets through above api_throttle_rate."
  type        = number
  default     = 100

  validation {
    condition     = var.api_throttle_burst >= 1
    error_message = "api_throttle_burst must be at least 1."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored after `terraform destroy` (0: deleted at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}
