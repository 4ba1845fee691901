#!/usr/bin/env bash
# Bulk import of debt positions, measured from outside: the release `sportello serve` on a fresh
# database, curl streaming an NDJSON file of N single-option positions (GPD's model, no IUVs:
# Sportello allocates them) to the import API with `toPublish=true`, then polling the import's
# progress until DONE. Pre-notices are off (the ente has no IO service) unless PRENOTICE=1.
# Beside it, in the same run, the physical ceiling: Python's sqlite3 inserting the same number
# of rows into a table of the same shape (position document + notice index), in transactions of
# 2,000, with the store's durability (WAL, synchronous FULL). Run on demand (docs/BENCHMARKS.md).
#
#   scripts/bench-gpd-import.sh sqlite|postgres [POSITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: $0 sqlite|postgres [positions]}
n=${2:-1000000}
port=${PORT:-18091}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
bin=${SPORTELLO_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p sportello
  bin=target/release/sportello
fi
work=$(mktemp -d)
server=
db=sportello_import_bench_$$
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
python3 - "$n" "$work/positions.ndjson" <<'PY'
import datetime, json, sys
n, path = int(sys.argv[1]), sys.argv[2]
due = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({"iupd": f"IMP-{i:08d}", "type": "F", "fiscalCode": "RSSMRA85T10A562S",
            "fullName": "Mario Rossi", "companyName": "Comune di Varese", "switchToExpired": False,
            "paymentOption": [{"amount": 12050, "description": "TARI 2027 rata unica",
                "isPartialPayment": False, "dueDate": due, "transfer": [{"idTransfer": "1",
                "amount": 12050, "remittanceInformation": "TARI 2027", "category": "9/0101108TS/",
                "iban": "IT60X0542811101000000123456"}]}]}, separators=(",", ":")) + "\n")
PY
echo "== file: $n positions, $(du -m "$work/positions.ndjson" | cut -f1) MB"
if [ "$backend" = sqlite ]; then
  python3 - "$n" "$work/ceiling.db" <<'PY'
import sqlite3, sys, time, json
n, path = int(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE p (id TEXT PRIMARY KEY, organization TEXT, iupd TEXT, status TEXT, doc TEXT, UNIQUE(organization, iupd))")
db.execute("CREATE TABLE x (organization TEXT, iuv TEXT, nav TEXT, position_id TEXT, UNIQUE(organization, iuv), UNIQUE(organization, nav))")
doc = json.dumps({"k": "x" * 1500})
t = time.time()
for start in range(0, n, 2000):
    db.execute("BEGIN")
    rows = range(start, min(n, start + 2000))
    db.executemany("INSERT INTO p VALUES (?,?,?,?,?)", ((f"id{i}", "00441340122", f"IMP-{i:08d}", "VALID", doc) for i in rows))
    db.executemany("INSERT INTO x VALUES (?,?,?,?)", (("00441340122", f"{i:017d}", f"3{i:017d}", f"id{i}") for i in rows))
    db.execute("COMMIT")
e = time.time() - t
print(f"== ceiling (raw SQLite insert, same rows): {n} in {e:.1f} s = {n/e:,.0f} rows/s")
PY
fi
$bin serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
json() { python3 -c "import json,sys;print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
$bin admin organization create --fiscal-code 00441340122 --name "Comune di Varese" --kind comune >/dev/null
if [ "${PRENOTICE:-0}" = 1 ]; then
  $bin admin delegate create --organization 00441340122 --email tributi@comune.varese.it --json >/dev/null
  svc=$($bin admin service create --organization 00441340122 --name Tributi \
    --description "Avvisi e pagamenti dei tributi comunali" \
    --authorized-recipient RSSMRA85T10A562S --json | json id)
  key=$($bin admin payments enable --organization 00441340122 --segregation-code 01 --io-service "$svc" --json | json primary_key)
else
  key=$($bin admin payments enable --organization 00441340122 --segregation-code 01 --json | json primary_key)
fi
base="http://127.0.0.1:$port/api/gpd/v1/organizations/00441340122/debtpositions/imports"
t0=$(date +%s.%N)
id=$(curl -sf -X POST -H "Ocp-Apim-Subscription-Key: $key" -H 'Content-Type: application/x-ndjson' \
  --data-binary "@$work/positions.ndjson" "$base?format=ndjson&toPublish=true" | json id)
t1=$(date +%s.%N)
while :; do
  s=$(curl -sf -H "Ocp-Apim-Subscription-Key: $key" "$base/$id")
  [ "$(echo "$s" | json status)" = DONE ] && break
  sleep 0.5
done
t2=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2/1024 " MB"}' "/proc/$server/status")
python3 - "$t0" "$t1" "$t2" "$n" <<PY
import sys
t0, t1, t2, n = map(float, sys.argv[1:5])
print(f"== upload {t1-t0:.1f} s, processing {t2-t1:.1f} s, total {t2-t0:.1f} s = {n/(t2-t0):,.0f} positions/s")
PY
echo "== outcome: $s"
echo "== server peak RSS (VmHWM): $rss"
