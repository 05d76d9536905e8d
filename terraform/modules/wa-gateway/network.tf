# One VPC per deployment. Public subnets hold the connector task (it needs a
# way out to WhatsApp; a public IP costs nothing, a NAT gateway ~$35/month)
# and the API's VPC link; security groups admit nothing from the internet.
# Private subnets, with no route out at all, hold the database.

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = var.name })
}

# The default security group of a new VPC allows all traffic between its
# members; take every rule away so nothing relies on it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  count = var.availability_zone_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  # Addresses are given per task (assign_public_ip), not to everything here.
  map_public_ip_on_launch = false

  tags = merge(local.tags, { Name = "${var.name}-public-${local.azs[count.index]}" })
}

resource "aws_subnet" "private" {
  count = var.availability_zone_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)

  tags = merge(local.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  tags = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table_association" "public" {
  count = var.availability_zone_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# No routes beyond the VPC itself: the database cannot reach the internet.
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = var.availability_zone_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

# S3 traffic from the connector stays on AWS's network (and is free).
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.public.id]

  tags = merge(local.tags, { Name = "${var.name}-s3" })
}

# ---------------------------------------------------------------- security groups

resource "aws_security_group" "api_link" {
  name        = "${var.name}-api-link"
  description = "API Gateway VPC link: may only reach the connector's port."
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-api-link" })
}

resource "aws_security_group" "connector" {
  name        = "${var.name}-connector"
  description = "The connector task: reachable only from the VPC link; out to HTTPS and the database."
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-connector" })
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "PostgreSQL: reachable only from the connector."
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-database" })
}

resource "aws_vpc_security_group_egress_rule" "api_link_to_connector" {
  security_group_id            = aws_security_group.api_link.id
  description                  = "Requests to the connector's HTTP front"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.connector.id
}

resource "aws_vpc_security_group_ingress_rule" "connector_from_api_link" {
  security_group_id            = aws_security_group.connector.id
  description                  = "Requests from the API's VPC link"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.api_link.id
}

# WhatsApp (wss on 443), S3, Secrets Manager, ECR, CloudWatch, SQS, Lambda,
# webhook receivers on https: all TLS on 443.
resource "aws_vpc_security_group_egress_rule" "connector_https" {
  security_group_id = aws_security_group.connector.id
  description       = "TLS to WhatsApp and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "connector_to_database" {
  security_group_id            = aws_security_group.connector.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_connector" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the connector"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.connector.id
}

# Webhook receivers on other ports than 443 (e.g. http://hooks.example:8080).
resource "aws_vpc_security_group_egress_rule" "connector_webhooks" {
  for_each = setsubtract(local.webhook_ports, ["443"])

  security_group_id = aws_security_group.connector.id
  description       = "Webhook receivers on port ${each.value}"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = "0.0.0.0/0"
}
