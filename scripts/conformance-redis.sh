#!/usr/bin/env bash
# Runs redis-py's own tests (the redis==8.1.0 sdist from PyPI: tests/test_pubsub.py and
# the stream tests of tests/test_commands.py, RESP2 and RESP3) against mqlite AND Debian's
# redis-server in the same run, and prints both counts. Exits non-zero when a test that
# passes on redis-server fails on mqlite.
#
#   scripts/conformance-redis.sh            # redis-server on REDIS_PORT (47001); mqlite on any free port
#
# Needs: scripts/install-test-deps.sh (redis-server, the project with its test extras).
# Takes about 3 minutes on 2 cores. Not part of CI (too slow); results go in docs/protocols.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${CONFORMANCE_DIR:-/tmp/mqlite-conformance-redis}
REDIS_PORT=${REDIS_PORT:-47001}
VERSION=8.1.0
mkdir -p "$WORK"
cd "$WORK"
if [ ! -d "redis-$VERSION/tests" ]; then
  echo "conformance-redis: pip download redis==$VERSION (sdist)"
  python3 -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps "redis==$VERSION" -d .
  tar xzf "redis-$VERSION.tar.gz"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "conformance-redis: redis-server $(redis-server --version | awk '{print $3}') on port $REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --logfile "$WORK/redis-server.log" &
pids+=($!)
pids+=("$(bash "$ROOT/scripts/mqlite-peer.sh" redis "$WORK/mqlite.log")")
MQLITE_PORT=$(cat "$WORK/mqlite.log.port")
echo "conformance-redis: mqlite (this checkout) on port $MQLITE_PORT"
for port in "$REDIS_PORT" "$MQLITE_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.2; done
  redis-cli -p "$port" ping >/dev/null || { echo "conformance-redis: nothing answers on $port"; exit 2; }
done

run() {  # target port protocol -> junit xml
  local name=$1 port=$2 proto=$3
  (cd "redis-$VERSION" && timeout 900 python3 -m pytest -q -p no:cacheprovider -o addopts="" -W ignore \
    tests/test_pubsub.py tests/test_commands.py -k "test_pubsub.py or test_x" \
    -m "not onlycluster and not redismod and not ssl" --redis-url "redis://127.0.0.1:$port" \
    --protocol "$proto" --junitxml "$WORK/$name-resp$proto.xml" >"$WORK/$name-resp$proto.log" 2>&1) || true
}
for proto in 2 3; do
  echo "conformance-redis: RESP$proto against redis-server"; run redis-server "$REDIS_PORT" "$proto"
  echo "conformance-redis: RESP$proto against mqlite"; run mqlite "$MQLITE_PORT" "$proto"
done
python3 "$ROOT/scripts/junit_compare.py" "$WORK" redis-server mqlite resp2 resp3
