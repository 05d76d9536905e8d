#!/usr/bin/env bash
# Throwaway SQS-compatible server (moto's server mode) for the cloud-mode tests.
#
#   infra/sqs.sh start <state-dir>   prints WA_TEST_SQS_ENDPOINT=, WA_TEST_SQS_REGION= lines
#   infra/sqs.sh stop  <state-dir>
#
# AWS SQS itself cannot be reached from here; moto (PyPI, installed on first
# use) implements its JSON and query protocols in-process, on 127.0.0.1 only,
# on a free port. Tests create their own queues. `start` is idempotent; `stop`
# is a no-op when nothing runs. Logs go to <state-dir>/sqs.log.
set -euo pipefail
WA_INFRA_NAME=sqs
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || usage
cmd=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
env_file="$state/sqs.env"
pid_file="$state/sqs.pid"
moto_version=5.1.18
region=us-east-1

has_moto() {
    python3 -c "import moto.server, moto; assert moto.__version__ == '$moto_version'" 2>/dev/null
}

case "$cmd" in
start)
    if pid_alive "$pid_file" && [[ -s "$env_file" ]]; then
        log "already running (pid $(cat "$pid_file"))"
        cat "$env_file"
        exit 0
    fi
    has_moto || pip_install "moto[server]==$moto_version"
    has_moto || die "moto[server]==$moto_version installed but not importable"
    port=$(free_port)
    log "starting moto's SQS on 127.0.0.1:$port"
    setsid python3 -m moto.server -H 127.0.0.1 -p "$port" </dev/null >"$state/sqs.log" 2>&1 &
    echo $! >"$pid_file"
    wait_until_ready "$pid_file" 30 "$state/sqs.log" moto \
        curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/moto-api/"
    {
        echo "WA_TEST_SQS_ENDPOINT=http://127.0.0.1:$port"
        echo "WA_TEST_SQS_REGION=$region"
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
