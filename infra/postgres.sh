#!/usr/bin/env bash
# Throwaway PostgreSQL for tests and benchmarks.
#
#   infra/postgres.sh start <state-dir>   prints WA_TEST_POSTGRES_URL=postgres://... and
#                                         WA_TEST_POSTGRES_CA=<server certificate> on stdout
#   infra/postgres.sh stop  <state-dir>
#
# The cluster listens on 127.0.0.1 only, on a free port, with trust authentication and
# fsync off: it holds test data only. It also speaks TLS, with a self-signed certificate
# for 127.0.0.1 made by openssl, so clients can test every sslmode. `start` is idempotent (a running cluster is
# reused and its URL printed again); `stop` is a no-op when nothing runs. Logs go to
# stderr and to <state-dir>/postgres.log.
set -euo pipefail
WA_INFRA_NAME=postgres
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || usage
cmd=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
env_file="$state/postgres.env"
datadir_file="$state/postgres.datadir"

# Finds PostgreSQL's server binaries (initdb, pg_ctl), installing them if needed.
find_pg_bin() {
    local d
    for d in "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")" /usr/local/bin /usr/local/pgsql/bin; do
        if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    done
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [[ -n "$d" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    return 1
}

pg_bin=$(find_pg_bin || true)
if [[ -z "$pg_bin" && $cmd == start ]]; then
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
    log "PostgreSQL not found: installing it with apt-get (about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    pg_bin=$(find_pg_bin) || die "PostgreSQL installed but pg_ctl/initdb not found"
fi

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

datadir() {
    if [[ -s "$datadir_file" ]]; then cat "$datadir_file"; else echo "$state/pgdata"; fi
}

running() {
    local d
    d=$(datadir)
    [[ -n "$pg_bin" && -f "$d/PG_VERSION" ]] && as_pg "$pg_bin/pg_ctl" -D "$d" status >/dev/null 2>&1
}

case "$cmd" in
start)
    if running && [[ -s "$env_file" ]]; then
        log "already running ($(datadir))"
        cat "$env_file"
        exit 0
    fi
    d=$(datadir)
    logfile="$state/postgres.log"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
        mkdir -p "$d"
        chown postgres: "$d"
        chmod 700 "$d"
        # The state dir may sit where `postgres` cannot reach (say under /root):
        # then keep the cluster in a private folder under /tmp instead.
        if ! runuser -u postgres -- test -w "$d"; then
            rmdir "$d" 2>/dev/null || true
            d=$(mktemp -d /tmp/wa-pgdata.XXXXXX)
            chown postgres: "$d"
            chmod 700 "$d"
            logfile="$d.log"
        fi
        touch "$logfile"
        chown postgres: "$logfile"
    else
        mkdir -p "$d"
        chmod 700 "$d"
    fi
    echo "$d" >"$datadir_file"
    if [[ ! -f "$d/PG_VERSION" ]]; then
        log "initdb in $d"
        as_pg "$pg_bin/initdb" -D "$d" -U postgres -A trust -E UTF8 --no-locale >&2
    fi
    if [[ ! -f "$d/server.crt" ]]; then
        command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the server's TLS certificate"
        log "making a self-signed TLS certificate for 127.0.0.1"
        as_pg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=wa-test-postgres" -addext "subjectAltName=IP:127.0.0.1" \
            -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
            -keyout "$d/server.key" -out "$d/server.crt" >/dev/null 2>&1 \
            || die "openssl could not make the certificate"
        as_pg chmod 600 "$d/server.key"
    fi
    started=""
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        log "starting on 127.0.0.1:$port (log: $logfile)"
        if as_pg "$pg_bin/pg_ctl" -D "$d" -l "$logfile" -w -t 60 \
            -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on" \
            start >&2; then
            started=yes
            break
        fi
        log "start on port $port failed; trying another port"
        tail -n 5 "$logfile" >&2 || true
    done
    [[ -n "$started" ]] || die "PostgreSQL did not start; see $logfile"
    {
        echo "WA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
        echo "WA_TEST_POSTGRES_CA=$d/server.crt"
    } >"$env_file"
    cat "$env_file"
    ;;
stop)
    if running; then
        log "stopping ($(datadir))"
        as_pg "$pg_bin/pg_ctl" -D "$(datadir)" -m fast -w stop >&2
    else
        log "not running"
    fi
    # A cluster kept outside the state dir (unreachable for `postgres`) is removed
    # on stop, so runs do not pile up folders in /tmp.
    d=$(datadir)
    if [[ $d == /tmp/wa-pgdata.* ]]; then
        rm -rf "$d" "$d.log"
        rm -f "$datadir_file"
    fi
    rm -f "$env_file"
    ;;
*) usage ;;
esac
