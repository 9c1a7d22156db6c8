#!/usr/bin/env bash
# Runs every benchmark one after another (never two at once: they share 2 cores) and
# keeps each one's full output in benchmarks/results/<name>.txt (not committed).
# Usage: bash benchmarks/run_all.sh [name ...]   e.g. bash benchmarks/run_all.sh sqs kafka
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
declare -A ARGS=(
  [storage]="--mib 128 --recovery-gib 1 --rounds 3"
  [core_stream]=""
  [core_queue]="--seconds 6 --backlog 2000000"
  [routing]="--seconds 2"
  [sqs]="--duration 8 --procs 3"
  [sns]="--duration 5"
  [kinesis]="--duration 6"
  [events]="--duration 6"
  [kafka]=""
  [resp]=""
  [amqp]="--messages 20000 --rabbit-port 25672"
  [admin]="--samples 30"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(storage core_stream core_queue routing sqs sns kinesis events kafka resp amqp admin)
for name in "${names[@]}"; do
  script="benchmarks/${name}_bench.py"
  echo "== $(date -u +%H:%M:%S) $name: python $script ${ARGS[$name]}  (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$SECONDS
  # shellcheck disable=SC2086
  python3 "$script" ${ARGS[$name]} > "benchmarks/results/$name.txt" 2>&1
  echo "   exit $? after $((SECONDS - start)) s -> benchmarks/results/$name.txt"
done
