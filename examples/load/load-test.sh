#!/usr/bin/env bash
# Load-test a running gateway the way a GOWA user does: many concurrent
# `POST /send/text` (the alias of /send/message), with `GET /app/info` as the
# baseline, one after the other, and one summary line each.
#
# Uses the first load generator it finds: oha (cargo install oha), wrk
# (apt-get install wrk) or ab (apt-get install apache2-utils).
#
#   BASE_URL=http://127.0.0.1:3000 BASIC_AUTH=user:pass DEVICE_ID=main \
#   PHONE=6281234567890 DURATION=30 CONNECTIONS=16 examples/load/load-test.sh
#
# Every message is really sent: point PHONE at a number of your own. The
# account's send pacing (WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE) queues what
# exceeds it; the API still answers at once, so this measures the API.
#
# Settings (environment):
#   BASE_URL     the gateway                         (http://127.0.0.1:3000)
#   BASIC_AUTH   user:password of APP_BASIC_AUTH     (none)
#   API_KEY      a key of APP_API_KEYS, instead      (none)
#   DEVICE_ID    the account to send from            (the only one)
#   PHONE        recipient, digits only              (required)
#   DURATION     seconds per route                   (30)
#   CONNECTIONS  concurrent connections              (16)
#   TOOL         oha | wrk | ab, to choose           (first found)
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:3000}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-16}
: "${PHONE:?set PHONE to the number to send to, digits only}"
if [[ ! $PHONE =~ ^[0-9]{6,15}$ ]]; then
  echo "load-test: PHONE must be 6 to 15 digits, got '$PHONE'" >&2
  exit 2
fi

headers=(-H "Content-Type: application/json")
if [[ -n ${BASIC_AUTH:-} ]]; then
  headers+=(-H "Authorization: Basic $(printf '%s' "$BASIC_AUTH" | base64 -w0)")
elif [[ -n ${API_KEY:-} ]]; then
  headers+=(-H "X-Api-Key: $API_KEY")
fi
[[ -n ${DEVICE_ID:-} ]] && headers+=(-H "X-Device-Id: $DEVICE_ID")

tool=${TOOL:-}
if [[ -z $tool ]]; then
  for candidate in oha wrk ab; do
    if command -v "$candidate" >/dev/null; then tool=$candidate; break; fi
  done
fi
[[ -n $tool ]] || { echo "load-test: install oha, wrk or ab (apache2-utils)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
body="{\"phone\":\"$PHONE\",\"message\":\"load test from examples/load/load-test.sh\"}"
printf '%s' "$body" > "$work/body.json"

# Fails early, with the gateway's own words, when the settings are wrong.
check=$(curl -sS -o "$work/answer" -w '%{http_code}' "${headers[@]}" "$BASE_URL/app/info") || {
  echo "load-test: $BASE_URL does not answer" >&2; exit 1; }
if [[ $check != 200 ]]; then
  echo "load-test: GET /app/info answered $check: $(head -c 300 "$work/answer")" >&2
  exit 1
fi

# Prints: route, requests/s, p50 ms, p99 ms, non-2xx.
run() {
  local method=$1 path=$2 out="$work/out"
  case $tool in
    oha)
      local args=(-z "${DURATION}s" -c "$CONNECTIONS" --no-tui --output-format json -m "$method" "${headers[@]}")
      [[ $method == POST ]] && args+=(-D "$work/body.json")
      oha "${args[@]}" "$BASE_URL$path" > "$out"
      python3 - "$path" "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
codes = r.get("statusCodeDistribution", {})
bad = sum(n for c, n in codes.items() if not c.startswith("2"))
p = r["latencyPercentiles"]
print(f"{sys.argv[1]:<14} {r['summary']['requestsPerSec']:>10.0f} {p['p50']*1000:>9.2f} {p['p99']*1000:>9.2f} {bad:>8}")
PY
      ;;
    wrk)
      {
        echo "wrk.method = \"$method\""
        [[ $method == POST ]] && echo "wrk.body = '$body'"
        for ((i = 1; i < ${#headers[@]}; i += 2)); do
          local name=${headers[i]%%:*} value=${headers[i]#*: }
          echo "wrk.headers[\"$name\"] = \"$value\""
        done
      } > "$work/script.lua"
      wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/script.lua" "$BASE_URL$path" > "$out"
      awk -v route="$path" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        /Requests\/sec/ { rps = $2 } /Non-2xx/ { bad = $NF }
        END { printf "%-14s %10.0f %9.2f %9.2f %8d\n", route, rps, p50, p99, bad }' "$out"
      ;;
    ab)
      local args=(-q -t "$DURATION" -n 100000000 -c "$CONNECTIONS")
      for ((i = 1; i < ${#headers[@]}; i += 2)); do
        [[ ${headers[i]} == Content-Type:* ]] || args+=(-H "${headers[i]}")
      done
      [[ $method == POST ]] && args+=(-p "$work/body.json" -T application/json)
      ab "${args[@]}" "$BASE_URL$path" > "$out" 2>/dev/null || true
      awk -v route="$path" '
        /Requests per second/ { rps = $4 } /Non-2xx responses/ { bad = $3 }
        $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
        END { printf "%-14s %10.0f %9.2f %9.2f %8d\n", route, rps, p50, p99, bad }' "$out"
      ;;
    *) echo "load-test: unknown TOOL '$tool' (oha, wrk or ab)" >&2; exit 2 ;;
  esac
}

echo "load-test: $tool, $CONNECTIONS connections, ${DURATION}s per route, against $BASE_URL"
printf '%-14s %10s %9s %9s %8s\n' route 'req/s' 'p50 ms' 'p99 ms' 'non-2xx'
run GET /app/info
run POST /send/text
