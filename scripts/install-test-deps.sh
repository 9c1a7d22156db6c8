#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the package with
# its test extras (real client libraries) and the Debian tools the tests drive (kcat,
# redis-cli, and redis-server for the differential RESP tests). Idempotent; prints
# what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v kcat >/dev/null 2>&1 || need+=(kcat)
  command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # differential tests
  if [ ${#need[@]} -gt 0 ]; then
    echo "install-test-deps: apt-get install ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
echo "install-test-deps: pip install -e .[test]"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
echo "install-test-deps: done"
