# Shared helpers for the throwaway test services in infra/. Sourced, not run.
# Everything here logs to stderr: the scripts' stdout carries only KEY=value lines.

log() { printf '[%s] %s\n' "${WA_INFRA_NAME:-infra}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True when something already listens on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a loopback TCP port that nothing listens on, avoiding the ports given as
# arguments (so one service can ask for several distinct ports at once).
free_port() {
    local p tries=0
    while (( tries < 200 )); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 25000 ))
        tries=$(( tries + 1 ))
        case " $* " in *" $p "*) continue ;; esac
        # gRPC companions of some servers sit at port+10000: keep both free.
        if ! port_in_use "$p" && ! port_in_use $(( p + 10000 )); then
            echo "$p"
            return 0
        fi
    done
    die "no free loopback port found"
}

# True when the process recorded in pid file $1 is alive.
pid_alive() {
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Installs the PyPI requirement $1 with the machine's python3 (getting pip from
# Debian first when running as root without it).
pip_install() {
    log "installing $1 from PyPI"
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
        [[ $(id -u) -eq 0 ]] || die "python3 with pip is needed to install $1"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends python3-pip >&2
    fi
    python3 -m pip install --quiet --disable-pip-version-check "$1" >&2 \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$1" >&2
}

# Waits until the command "$@" (after the first four arguments) succeeds, while
# the process of pid file $1 lives; polls every 0.2 s for up to $2 seconds. On
# failure shows the end of log $3 and dies naming the service $4.
wait_until_ready() {
    local pid_file=$1 seconds=$2 logfile=$3 name=$4
    shift 4
    for _ in $(seq 1 $(( seconds * 5 ))); do
        if ! pid_alive "$pid_file"; then
            tail -n 30 "$logfile" >&2 || true
            die "$name exited during startup; see $logfile"
        fi
        if "$@"; then
            return 0
        fi
        sleep 0.2
    done
    tail -n 30 "$logfile" >&2 || true
    kill "$(cat "$pid_file")" 2>/dev/null || true
    die "$name did not become ready within $seconds s; see $logfile"
}

# Stops the process recorded in pid file $1: TERM, up to 10 s, then KILL.
stop_pid_file() {
    local pid
    if pid_alive "$1"; then
        pid=$(cat "$1")
        log "stopping (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "still running after 10 s: killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        log "not running"
    fi
}

usage() {
    echo "usage: $0 start|stop <state-dir>" >&2
    exit 2
}
