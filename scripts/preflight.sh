#!/usr/bin/env bash
# What `make demo` (`preflight.sh demo`) and `make test` (`preflight.sh test`) need from the
# machine, checked in a second before anything is built or run: one line per missing thing on
# stderr, then exit 2. PYTHON names the interpreter the venv is made from (default python3).
set -uo pipefail
mode=${1:-test}
python=${PYTHON:-python3}
missing=0
miss() {
  echo "redcolor preflight: $*" >&2
  missing=$((missing + 1))
}

version=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null)
if [ -z "$version" ]; then
  miss "cannot run $python: redcolor needs Python 3.11 or newer (make PYTHON=/path/to/python3.11)"
elif ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  miss "$python is Python $version, redcolor needs 3.11 or newer (make PYTHON=/path/to/python3.11)"
elif ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  miss "$python cannot make a virtualenv (Debian: apt-get install python3-venv)"
fi

if [ "$mode" = test ]; then
  [ -x /usr/bin/chromium ] ||
    miss "no /usr/bin/chromium: the browser tests of the live map drive Debian's chromium"\
" (as root: make system-deps, or apt-get install chromium)"
  for cmd in nats-server mosquitto; do
    command -v "$cmd" >/dev/null 2>&1 ||
      miss "no $cmd on PATH: tests start brokers of their own (as root: make system-deps)"
  done
  for cmd in node npm; do
    command -v "$cmd" >/dev/null 2>&1 ||
      miss "no $cmd on PATH: a test runs the published pikud-haoref-api npm client"\
" (as root: make system-deps, or apt-get install nodejs npm)"
  done
  # The MQTT channel tests publish to the machine's broker, as a deployment would.
  if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    miss "nothing listens on 127.0.0.1:1883: the MQTT tests need a Mosquitto broker there"\
" (start one: mosquitto -d)"
  fi
  # The store tests run on PostgreSQL too: the machine's server (trust auth, user postgres)
  # for the contract, PostgreSQL 15's own binaries for the fault tests' private servers.
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    miss "nothing listens on 127.0.0.1:5432: the store tests need PostgreSQL there, user"\
" postgres with trust auth (as root: make system-deps, then pg_ctlcluster 15 main start)"
  fi
  [ -x /usr/lib/postgresql/15/bin/initdb ] ||
    miss "no /usr/lib/postgresql/15/bin/initdb: the store's fault tests run PostgreSQL 15 servers"\
" of their own (as root: make system-deps, or apt-get install postgresql-15)"
fi

if [ "$missing" -gt 0 ]; then
  echo "redcolor preflight: $missing thing(s) missing for make $mode; nothing was run" >&2
  exit 2
fi
