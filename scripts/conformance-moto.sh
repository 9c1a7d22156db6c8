#!/usr/bin/env bash
# moto's own test suites (pinned sdist, server mode) against mqlite and moto's server in
# one run, with pass/fail counts for both: scripts/conformance-moto.sh sqs sns [-k EXPR]
# (options: see scripts/conformance/run_moto.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/conformance/run_moto.py "$@"
