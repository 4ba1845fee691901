#!/usr/bin/env bash
# Intake measured from outside: the release `sportello serve` on a fresh database, and wrk in its
# own process POSTing messages to one service. Run on demand (docs/BENCHMARKS.md), not by the tests.
#
#   scripts/bench-intake-wrk.sh sqlite|postgres [CONNECTIONS] [DURATION] [DAILY_QUOTA]
#
# Prints wrk's report, then the status codes Sportello counted and the messages stored. Needs wrk
# (Debian package `wrk`) and python3; PostgreSQL at $PG_URL (default the local trust server).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: $0 sqlite|postgres [connections] [duration] [daily_quota]}
connections=${2:-64}
duration=${3:-15s}
quota=${4:-}
port=${PORT:-18089}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
# SPORTELLO_BIN: an already built binary to measure (default: build the release one).
bin=${SPORTELLO_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p sportello
  bin=target/release/sportello
fi
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ "$backend" = postgres ] && psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SPORTELLO_DATA_DIR=$work/data SPORTELLO_ADMIN_TOKEN=bench-admin-token-0123456789
export SPORTELLO_LISTEN=127.0.0.1:$port SPORTELLO_LOG=warn
db=sportello_bench_$$
if [ "$backend" = postgres ]; then
  psql "$pg_url/postgres" -qc "CREATE DATABASE $db" >/dev/null
  export SPORTELLO_DATABASE_URL=$pg_url/$db
  export SPORTELLO_CONTENT_KEYS=$(python3 -c 'import base64,os;print("k1:"+base64.b64encode(os.urandom(32)).decode())')
  $bin migrate >/dev/null
fi
$bin serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
json() { python3 -c "import json,sys;print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
$bin admin organization create --fiscal-code 00441340122 --name "Comune di Varese" --kind comune >/dev/null
$bin admin delegate create --organization 00441340122 --email tributi@comune.varese.it --json >/dev/null
service=$($bin admin service create --organization 00441340122 --name Tributi \
  --description "Avvisi e pagamenti dei tributi comunali" \
  --authorized-recipient RSSMRA85T10A562S --json)
id=$(echo "$service" | json id)
key=$(echo "$service" | json primary_key)
if [ -n "$quota" ]; then
  curl -sf -X PUT "localhost:$port/api/admin/v1/services/$id/limits" \
    -H "Authorization: Bearer $SPORTELLO_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"daily_quota\":$quota}" >/dev/null
fi
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Ocp-Apim-Subscription-Key"] = "$key"
wrk.body = '{"time_to_live":3600,"content":{"subject":"Promemoria: scadenza TARI 2026","markdown":"Gentile cittadina, gentile cittadino, le ricordiamo che la prima rata della TARI 2026 scade il 16 giugno. Puo pagarla con l avviso pagoPA allegato."}}'
LUA
echo "== $backend, $connections connections, $duration"
wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/post.lua" \
  "http://127.0.0.1:$port/api/v1/messages/RSSMRA85T10A562S"
echo "== responses by status (Sportello's own counter)"
curl -s "localhost:$port/metrics" | grep -E '^sportello_http_requests_total\{.*messages/\{fiscal_code\}' || true
echo "== deadlocks or internal errors in the server log: $(grep -ciE 'deadlock|internal' "$work/serve.log" || true)"
