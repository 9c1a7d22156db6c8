#!/usr/bin/env bash
# Model-driven conformance: requests generated from botocore's models for every AWS
# operation mqlite serves, judged against the models' output shapes and errors:
# scripts/conformance-model.sh [sqs sns sts kinesis firehose events] [--ops A,B] [--port N]
# (options: see scripts/conformance/run_model.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec python3 scripts/conformance/run_model.py "$@"
