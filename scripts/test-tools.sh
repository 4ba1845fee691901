#!/usr/bin/env bash
# Installs the programs the test suite runs as real local peers — today the SMTP server aiosmtpd —
# into a Python venv under target/test-tools. Idempotent and quiet: once installed, a run only
# checks a marker. The last line printed is the path of the venv's python.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/target/test-tools"
venv="$dir/venv"
python="$venv/bin/python"
# Changing this list re-installs the venv on the next run.
requirements="aiosmtpd==1.4.6"
marker="$dir/installed"

installed() {
  [ -x "$python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$requirements" ]
}

if installed; then
  echo "$python"
  exit 0
fi

mkdir -p "$dir"
# Test binaries may run this at the same time: one installs, the others wait and find it done.
exec 9>"$dir/lock"
flock 9
if installed; then
  echo "$python"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log="$dir/install.log"
: >"$log"

if ! command -v python3 >/dev/null 2>&1; then
  echo "test-tools: python3 not found; installing it from Debian packages" >&2
  as_root apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >>"$log" 2>&1
fi

rm -rf "$venv" "$marker"
if ! python3 -m venv "$venv" >>"$log" 2>&1; then
  # Debian's python3 ships venv's ensurepip separately.
  echo "test-tools: python3 -m venv failed; installing python3-venv" >&2
  rm -rf "$venv"
  as_root apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >>"$log" 2>&1
  python3 -m venv "$venv" >>"$log" 2>&1
fi

# shellcheck disable=SC2086 # the list is split into arguments on purpose
if ! "$python" -m pip install -q --disable-pip-version-check --no-input $requirements >>"$log" 2>&1; then
  echo "test-tools: pip install $requirements failed:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$requirements" >"$marker"
echo "$python"
