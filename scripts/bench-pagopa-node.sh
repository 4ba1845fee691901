#!/usr/bin/env bash
# The pagoPA node interface under load, measured from outside: the release `sportello serve` on
# a fresh database; positions created through GPD's API with wrk; then the node simulator
# (`sportello pagopa simulate`, its own process) pays them with 64 calls in flight, verify :
# getPayment : sendRT = 2 : 1 : 1 (each payment verifies twice, as a PSP app does before paying;
# sendRT is durable before its answer). The ceiling of the same run: wrk POSTing the same SOAP
# body to the bare axum server (sportello-bench bare). Run on demand (docs/BENCHMARKS.md).
#
#   scripts/bench-pagopa-node.sh sqlite|postgres [SEED_SECONDS] [CONCURRENCY]
#
# Needs wrk, curl and python3; PostgreSQL at $PG_URL (default the local trust server).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: $0 sqlite|postgres [seed-seconds] [concurrency]}
seed_seconds=${2:-8}
concurrency=${3:-64}
port=${PORT:-18091}
bare_port=${BARE_PORT:-18099}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
target=${CARGO_TARGET_DIR:-target}
if [ -z "${SPORTELLO_BIN:-}" ]; then
  cargo build --release -q -p sportello -p bench
fi
bin=${SPORTELLO_BIN:-$target/release/sportello}
bench=${BENCH_BIN:-$target/release/sportello-bench}
work=$(mktemp -d)
server=
bare=
db=sportello_node_bench_$$
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$bare" ] && kill -INT "$bare" 2>/dev/null && wait "$bare" 2>/dev/null
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
org=00441340122
$bin admin organization create --fiscal-code $org --name "Comune di Varese" --kind comune >/dev/null
key=$($bin admin payments enable --organization $org --segregation-code 01 --json | json primary_key)
$bin admin payments station --organization $org --broker-id 80007580279 --station-id 80007580279_01 >/dev/null
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
  local body = '{"iupd":"NODE-' .. id .. '-' .. counter .. '","type":"F","fiscalCode":"RSSMRA85T10A562S",'
    .. '"fullName":"Mario Rossi","companyName":"Comune di Varese","switchToExpired":false,'
    .. '"paymentOption":[{"amount":12050,"description":"TARI 2027 rata unica","isPartialPayment":false,'
    .. '"dueDate":"$due","transfer":[{"idTransfer":"1","amount":12050,'
    .. '"remittanceInformation":"TARI 2027","category":"9/0101108TS/","iban":"IT60X0542811101000000123456"}]}]}'
  return wrk.format(nil, nil, nil, body)
end
LUA
echo "== seeding positions for ${seed_seconds}s"
wrk -t2 -c32 -d"${seed_seconds}s" -s "$work/post.lua" \
  "http://127.0.0.1:$port/api/gpd/v1/organizations/$org/debtpositions?toPublish=true" | grep -E 'Requests/sec|requests in'
echo "== $backend: node simulator, $concurrency calls in flight, verify:getPayment:sendRT = 2:1:1"
perf_pid=
if [ -n "${PERF_OUT:-}" ]; then  # PERF_OUT=file: a CPU profile of the server during the run
  perf record -F 499 -g -e cpu-clock -p "$server" -o "$PERF_OUT" >/dev/null 2>&1 &
  perf_pid=$!
fi
server_cpu_before=$(awk '{print $14+$15}' /proc/$server/stat)
/usr/bin/time -f "%U %S %e" -o "$work/client.time" $bin pagopa simulate --url "http://127.0.0.1:$port" --organization $org \
  --broker-id 80007580279 --station-id 80007580279_01 --share 100 \
  --from "$(date -u +%F)" --days 1 --verifies 2 --concurrency "$concurrency" >"$work/summary.json"
[ -n "$perf_pid" ] && kill -INT "$perf_pid" && wait "$perf_pid" 2>/dev/null
server_cpu=$(( $(awk '{print $14+$15}' /proc/$server/stat) - server_cpu_before ))
read -r cu cs ce <"$work/client.time"
echo "CPU: server $(python3 -c "print(round($server_cpu/$(getconf CLK_TCK),1))") s, simulator $(python3 -c "print(round($cu+$cs,1))") s, wall $ce s (2 cores: $(python3 -c "print(round(2*$ce,1))") core-seconds)"
python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"paid {s['paid']} of {s['notices']} notices, {s['calls']} calls in {s['seconds']:.1f} s: "
      f"{s['calls_per_second']:.0f} calls/s; KO answers {s['faults']}")
for op, v in s['operations'].items():
    print(f"  {op:24} {v['calls']:>8} calls  p50 {v['p50_ms']:.2f} ms  p99 {v['p99_ms']:.2f} ms  max {v['max_ms']:.1f} ms")
PY
echo "== internal errors in the server log: $(grep -ciE 'internal|system_error|deadlock' "$work/serve.log" || true)"
kill "$server"; wait "$server" 2>/dev/null || true; server=
echo "== ceiling: wrk POSTing the same SOAP body to the bare axum server, $concurrency connections"
$bench bare --listen "127.0.0.1:$bare_port" 2>/dev/null &
bare=$!
for _ in $(seq 50); do curl -s -o /dev/null "localhost:$bare_port/" && break; sleep 0.1; done
body=$(python3 -c 'print(open("/dev/stdin").read().replace("\n",""))' <<XML
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><pafn:paVerifyPaymentNoticeReq xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd"><idPA>$org</idPA><idBrokerPA>80007580279</idBrokerPA><idStation>80007580279_01</idStation><qrCode><fiscalCode>$org</fiscalCode><noticeNumber>301000000000000161</noticeNumber></qrCode></pafn:paVerifyPaymentNoticeReq></soapenv:Body></soapenv:Envelope>
XML
)
cat >"$work/bare.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = [[$body]]
LUA
wrk -t2 -c"$concurrency" -d10s --latency -s "$work/bare.lua" "http://127.0.0.1:$bare_port/api/v1/messages/x" \
  | grep -E 'Requests/sec|99%|50%'
