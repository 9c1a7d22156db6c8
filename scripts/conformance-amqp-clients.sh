#!/usr/bin/env bash
# Runs aio-pika's own test suite and kombu's py-amqp integration tests against Debian's
# rabbitmq-server AND mqlite in the same run, and prints both servers' counts. Exits
# non-zero when a test that passes on RabbitMQ fails on mqlite (unless listed in
# scripts/conformance-amqp-clients.documented, with the reason in docs/protocols.md).
#
#   scripts/conformance-amqp-clients.sh   # RabbitMQ on RABBITMQ_PORT (47572, +1 dist, +2 epmd); mqlite on any free port
#
# Both suites come from the pinned versions' PyPI sdists (aio-pika 10.2.1: tests/;
# kombu 5.7.0: t/integration/test_py_amqp.py). aio-pika's conftest starts a Docker
# container; the script patches its `rabbitmq_container` fixture to the server under test
# instead (no TLS listener: test_amqps fails on both), and installs its test dependencies
# (aiomisc-pytest, shortuuid, timeout-decorator; uv_build to unpack the sdist) under the
# work directory only. kombu's tests read RABBITMQ_HOST / RABBITMQ_5672_TCP.
# Takes a few minutes. Needs: scripts/install-test-deps.sh (rabbitmq-server).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${CONFORMANCE_DIR:-/tmp/mqlite-conformance-amqp-clients}
RABBITMQ_PORT=${RABBITMQ_PORT:-47572}
AIOPIKA=10.2.1 KOMBU=5.7.0
mkdir -p "$WORK"
cd "$WORK"

pipq() { pip "$@" 2>&1 | grep -vE '^WARNING: Running pip as' || true; }
if [ ! -d deps/aiomisc_pytest-2.0.0.dist-info ]; then
  echo "conformance-amqp-clients: installing aio-pika's test dependencies under $WORK/deps"
  pipq install -q --target deps "aiomisc-pytest==2.0.0" "aiomisc==18.0.37"
  pipq install -q --no-deps --target deps shortuuid==1.0.13 timeout-decorator==0.5.0
  pipq install -q --no-deps --target uvb uv_build==0.13.6
fi
if [ ! -d "aio_pika-$AIOPIKA/tests" ]; then
  echo "conformance-amqp-clients: fetching the aio-pika $AIOPIKA sdist"
  # pip prepares the sdist's metadata with its build backend (uv_build), installed above
  PATH="$WORK/uvb/bin:$PATH" PYTHONPATH="$WORK/uvb" pipq download -q --no-binary :all: \
    --no-deps --no-build-isolation "aio-pika==$AIOPIKA"
  tar xzf "aio_pika-$AIOPIKA.tar.gz"
  # the server under test instead of a Docker container
  python3 - "aio_pika-$AIOPIKA/tests/conftest.py" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("        _docker_host_info = check_docker_available()\n",
              "        _docker_host_info = None  # conformance run: no Docker\n")
s = re.sub(r'def rabbitmq_container\(docker\) -> ContainerInfo:\n(    .*\n|\n)*?(?=\n@pytest)',
           'def rabbitmq_container() -> ContainerInfo:\n'
           '    import os\n'
           '    port = int(os.environ["AMQP_PORT"])\n'
           '    return ContainerInfo(id="peer", host="127.0.0.1",\n'
           '                         ports={"5672/tcp": port, "5671/tcp": 1})\n\n', s)
open(p, "w").write(s)
EOF
fi
if [ ! -d "kombu-$KOMBU/t/integration" ]; then
  echo "conformance-amqp-clients: fetching the kombu $KOMBU sdist"
  pipq download -q --no-binary :all: --no-deps "kombu==$KOMBU"
  tar xzf "kombu-$KOMBU.tar.gz"
fi

TAG=conformance-amqp-clients
source "$ROOT/scripts/amqp-peers.sh"

run() {  # name port
  local name=$1 port=$2
  echo "conformance-amqp-clients: aio-pika $AIOPIKA tests against $name"
  # test_robust_recovery starts its own Docker broker and kills it: not runnable here
  (cd "aio_pika-$AIOPIKA" && AMQP_PORT=$port PYTHONPATH="$WORK/deps:$PWD" timeout 900 \
    python3 -m pytest -q -p no:cacheprovider -W ignore --timeout 60 -o log_cli=false \
    tests --ignore tests/test_robust_recovery.py \
    --junitxml "$WORK/$name-aiopika.xml" >"$WORK/$name-aiopika.log" 2>&1) || true
  echo "conformance-amqp-clients: kombu $KOMBU py-amqp integration tests against $name"
  (cd "kombu-$KOMBU" && RABBITMQ_HOST=127.0.0.1 RABBITMQ_5672_TCP=$port timeout 900 \
    python3 -m pytest -q -p no:cacheprovider -W ignore --timeout 60 \
    t/integration/test_py_amqp.py \
    --junitxml "$WORK/$name-kombu.xml" >"$WORK/$name-kombu.log" 2>&1) || true
}
run rabbitmq "$RABBITMQ_PORT"
run mqlite "$MQLITE_PORT"
python3 "$ROOT/scripts/junit_compare.py" "$WORK" rabbitmq mqlite aiopika kombu \
  --documented "$ROOT/scripts/conformance-amqp-clients.documented"
