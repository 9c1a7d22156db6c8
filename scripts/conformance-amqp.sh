#!/usr/bin/env bash
# Runs pika's own acceptance tests against Debian's rabbitmq-server AND mqlite in the same
# run, and prints both counts. Exits non-zero when a test that passes on RabbitMQ fails
# on mqlite (unless listed in scripts/conformance-amqp.documented, with the reason in
# docs/protocols.md).
#
#   scripts/conformance-amqp.sh        # RabbitMQ on RABBITMQ_PORT (47672, +1 dist, +2 epmd); mqlite on any free port
#
# pika's tests are not in its PyPI sdist; the source is Debian's python-pika orig tarball
# (pika 1.3.2, the newest Debian ships), fetched from Debian's source archive with a
# private apt configuration under the work directory. The tests run with the pika of
# that tarball (1.4 removed helpers its tests import). Tornado/Twisted adapter tests fail
# on both servers when those packages are not installed. Takes about a minute.
# Needs: scripts/install-test-deps.sh (rabbitmq-server).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${CONFORMANCE_DIR:-/tmp/mqlite-conformance-amqp}
RABBITMQ_PORT=${RABBITMQ_PORT:-47672}
PIKA=1.3.2
mkdir -p "$WORK"
cd "$WORK"

if [ ! -d "pika-$PIKA/tests/acceptance" ]; then
  echo "conformance-amqp: fetching Debian's python-pika $PIKA source (orig tarball)"
  mkdir -p apt/lists/partial apt/cache/archives/partial apt/sources
  cat >apt/sources/debian-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$WORK/apt/sources"
        -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache" -q)
  apt-get "${opts[@]}" update >/dev/null
  # only the orig tarball is needed; apt may fail on the Debian packaging files
  apt-get "${opts[@]}" source --download-only "python-pika=$PIKA-1" >/dev/null 2>&1 || true
  tar xzf "python-pika_$PIKA.orig.tar.gz"
fi

TAG=conformance-amqp
source "$ROOT/scripts/amqp-peers.sh"

run() {  # name port
  local name=$1 port=$2
  rm -rf "$WORK/$name" && cp -r "pika-$PIKA" "$WORK/$name"
  sed -i "s/5672/$port/g" "$WORK/$name/tests/base/async_test_base.py" "$WORK/$name/tests/acceptance/blocking_adapter_test.py"
  echo "conformance-amqp: pika $PIKA acceptance tests against $name"
  (cd "$WORK/$name" && timeout 900 python3 -m pytest -q -p no:cacheprovider -W ignore \
    tests/acceptance/async_adapter_tests.py tests/acceptance/blocking_adapter_test.py \
    tests/acceptance/enforce_one_basicget_test.py tests/acceptance/io_services_tests.py \
    --junitxml "$WORK/$name-pika.xml" >"$WORK/$name-pika.log" 2>&1) || true
}
run rabbitmq "$RABBITMQ_PORT"
run mqlite "$MQLITE_PORT"
python3 "$ROOT/scripts/junit_compare.py" "$WORK" rabbitmq mqlite pika \
  --documented "$ROOT/scripts/conformance-amqp.documented"
