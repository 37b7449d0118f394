#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only where what they provide is missing.
# Each argument is PACKAGE:COMMAND (the package is needed when COMMAND is not on PATH; a command
# given as a path must exist there), or a bare PACKAGE (needed when dpkg does not list it).
set -euo pipefail
need=()
for spec in "$@"; do
  pkg=${spec%%:*}
  cmd=${spec#*:}
  if [ "$cmd" = "$spec" ]; then
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  elif [ "${cmd#/}" != "$cmd" ]; then
    [ -x "$cmd" ] || need+=("$pkg")
  else
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
  fi
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "redcolor: the tests need these Debian packages: ${need[*]} (run as root or install them)" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
