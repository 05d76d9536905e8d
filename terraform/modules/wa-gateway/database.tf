# RDS for PostgreSQL, single instance (Multi-AZ optional), in private subnets,
# encrypted, reachable only from the connector's security group.

locals {
  db_major_version = split(".", var.db_engine_version)[0]

  # The seed's tuning knobs. RDS takes memory sizes in PostgreSQL's own units:
  # shared_buffers and wal_buffers in 8 KiB pages, work_mem in KiB, WAL sizes in MiB.
  db_parameters = merge(
    {
      max_connections = {
        value        = tostring(var.db_max_connections)
        apply_method = "pending-reboot"
      }
      work_mem = {
        value        = tostring(var.db_work_mem_mb * 1024)
        apply_method = "immediate"
      }
      maintenance_work_mem = {
        value        = tostring(var.db_maintenance_work_mem_mb * 1024)
        apply_method = "immediate"
      }
      min_wal_size = {
        value        = tostring(var.db_min_wal_size_mb)
        apply_method = "immediate"
      }
      max_wal_size = {
        value        = tostring(var.db_max_wal_size_mb)
        apply_method = "immediate"
      }
      checkpoint_timeout = {
        value        = tostring(var.db_checkpoint_timeout_seconds)
        apply_method = "immediate"
      }
      wal_compression = {
        value        = var.db_wal_compression ? "on" : "off"
        apply_method = "immediate"
      }
      # A send accepted with 200 is durable: never trade commits for speed.
      synchronous_commit = {
        value        = "on"
        apply_method = "immediate"
      }
      log_min_duration_statement = {
        value        = tostring(var.db_log_min_duration_ms)
        apply_method = "immediate"
      }
      "rds.force_ssl" = {
        value        = var.db_force_ssl ? "1" : "0"
        apply_method = "immediate"
      }
    },
    var.db_shared_buffers_mb == 0 ? {} : {
      shared_buffers = {
        value        = tostring(var.db_shared_buffers_mb * 128)
        apply_method = "pending-reboot"
      }
    },
    var.db_wal_buffers_mb == 0 ? {} : {
      wal_buffers = {
        value        = tostring(var.db_wal_buffers_mb * 128)
        apply_method = "pending-reboot"
      }
    },
  )
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-database"
  description = "Private subnets of ${var.name}'s database"
  subnet_ids  = aws_subnet.private[*].id

  tags = local.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${local.db_major_version}-"
  family      = "postgres${local.db_major_version}"
  description = "wa-gateway tuning: WAL, connections, memory"

  dynamic "parameter" {
    for_each = local.db_parameters
    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  tags = local.tags
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = var.db_name
  username = var.db_username
  password = random_password.database.result
  port     = 5432

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.db_deletion_protection
  skip_final_snapshot        = var.db_skip_final_snapshot
  final_snapshot_identifier  = var.db_skip_final_snapshot ? null : "${var.name}-final-${local.suffix}"

  enabled_cloudwatch_logs_exports = ["postgresql"]

  tags = local.tags
}
