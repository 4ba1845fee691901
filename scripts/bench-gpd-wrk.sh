#!/usr/bin/env bash
# Debt positions created and published through GPD's API, measured from outside: the release
# `sportello serve` on a fresh database, and wrk in its own process POSTing single-option
# positions (`?toPublish=true`, no IUV: Sportello allocates the notice numbers), each with its
# own IUPD. Run on demand (docs/BENCHMARKS.md), not by the tests.
#
#   scripts/bench-gpd-wrk.sh sqlite|postgres [CONNECTIONS] [DURATION]
#
# Prints wrk's report, the status codes Sportello counted and the positions stored. Needs wrk
# (Debian package `wrk`) and python3; PostgreSQL at $PG_URL (default the local trust server).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: $0 sqlite|postgres [connections] [duration]}
connections=${2:-64}
duration=${3:-15s}
port=${PORT:-18090}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
bin=${SPORTELLO_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p sportello
  bin=target/release/sportello
fi
work=$(mktemp -d)
server=
db=sportello_gpd_bench_$$
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ "$backend" = postgres ] && psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SPORTELLO_DATA_DIR=$work/data SPORTELLO_ADMIN_TOKEN=bench-admin-token-0123456789
export SPORTELLO_LISTEN=127.0.0.1:$port SPORTELLO_LOG=warn
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
key=$($bin admin payments enable --organization 00441340122 --segregation-code 01 --json | json primary_key)
due=$(python3 -c 'import datetime;print((datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
cat >"$work/post.lua" <<LUA
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Ocp-Apim-Subscription-Key"] = "$key"
end
function request()
  counter = counter + 1
  local body = '{"iupd":"BENCH-' .. id .. '-' .. counter .. '","type":"F","fiscalCode":"RSSMRA85T10A562S",'
    .. '"fullName":"Mario Rossi","companyName":"Comune di Varese","switchToExpired":false,'
    .. '"paymentOption":[{"amount":12050,"description":"TARI 2027 rata unica","isPartialPayment":false,'
    .. '"dueDate":"$due","transfer":[{"idTransfer":"1","amount":12050,'
    .. '"remittanceInformation":"TARI 2027","category":"9/0101108TS/","iban":"IT60X0542811101000000123456"}]}]}'
  return wrk.format(nil, nil, nil, body)
end
LUA
echo "== $backend, $connections connections, $duration"
wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/post.lua" \
  "http://127.0.0.1:$port/api/gpd/v1/organizations/00441340122/debtpositions?toPublish=true"
echo "== responses by status (Sportello's own counter)"
curl -s "localhost:$port/metrics" | grep -E '^sportello_http_requests_total\{.*debtpositions' || true
echo "== internal errors in the server log: $(grep -ciE 'internal|deadlock' "$work/serve.log" || true)"
