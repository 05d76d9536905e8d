# The connector's container image for the ECS deployment (terraform/).
#
# The build context is a staging folder holding the build outputs, so the
# (large) cargo target folder is never sent to the image builder:
#
#   cargo build --release -p wa-connector
#   cargo xtask build-components --release
#   mkdir -p dist/connector
#   cp target/release/wa-connector \
#      target/components/wasm32-wasip2/release/http_api.wasm \
#      target/components/wasm32-wasip2/release/webhook_fanout.wasm dist/connector/
#   docker build -f terraform/docker/connector.Dockerfile -t wa-connector:v1 dist/connector
#
# Build the binary on (or for) Debian 12 so its glibc matches this base image.
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin wa \
    && mkdir -p /app/components /app/data \
    && chown -R wa:wa /app/data

# The RDS CA bundle: DB_URI's sslrootcert (sslmode=verify-full).
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem

COPY wa-connector /usr/local/bin/wa-connector
# WA_HTTP_COMPONENT's and WA_WEBHOOK_COMPONENT's defaults, relative to the
# working folder. The connector loads the fan-out component whenever
# WEBHOOK_QUEUE_URL is unset (a deployment without the fan-out function).
COPY http_api.wasm /app/components/http_api.wasm
COPY webhook_fanout.wasm /app/components/webhook_fanout.wasm

WORKDIR /app
USER wa
# Compiled components are cached under data/ (WA_COMPONENT_CACHE's default);
# the task's storage is ephemeral, so a new task compiles once at start.
ENTRYPOINT ["/usr/local/bin/wa-connector"]
CMD ["serve"]
