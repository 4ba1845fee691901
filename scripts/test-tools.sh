#!/usr/bin/env bash
# Installs the programs the test suite runs as real local peers — the SMTP server aiosmtpd, into a
# Python venv under target/test-tools — and the Debian tools that check generated files (poppler's
# pdftotext/pdfinfo/pdffonts/pdftoppm and zbar's zbarimg, for the notice PDFs; libxml2's xmllint, the XML Schema validator of the pagoPA documents). Idempotent and
# quiet: once installed, a run only checks a marker and `command -v`. The last line printed is the
# path of the venv's python.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/target/test-tools"
venv="$dir/venv"
python="$venv/bin/python"
# Changing this list re-installs the venv on the next run.
requirements="aiosmtpd==1.4.6 pyshacl==0.40.1"
marker="$dir/installed"

# Debian packages, each with a program that shows it is installed.
debian_tools="poppler-utils:pdftoppm zbar-tools:zbarimg libxml2-utils:xmllint"

missing_debian() {
  local pair
  for pair in $debian_tools; do
    command -v "${pair#*:}" >/dev/null 2>&1 || printf '%s ' "${pair%%:*}"
  done
}

installed() {
  [ -x "$python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$requirements" ] && [ -z "$(missing_debian)" ]
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

missing="$(missing_debian)"
if [ -n "$missing" ]; then
  echo "test-tools: installing Debian packages: $missing" >&2
  as_root apt-get update -qq >>"$log" 2>&1
  # shellcheck disable=SC2086 # the list is split into arguments on purpose
  if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq $missing >>"$log" 2>&1; then
    echo "test-tools: apt-get install $missing failed:" >&2
    cat "$log" >&2
    exit 1
  fi
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "test-tools: python3 not found; installing it from Debian packages" >&2
  as_root apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >>"$log" 2>&1
fi

if [ -x "$python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$requirements" ]; then
  echo "$python"
  exit 0
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
