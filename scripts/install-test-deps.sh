#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the package with
# its test extras (real client libraries), the Debian tools the tests drive (kcat,
# redis-cli, redis-server for the differential RESP tests, rabbitmq-server for
# scripts/conformance-amqp.sh; its service is not started) and the pinned npm clients
# (ioredis, node-redis, amqplib, kafkajs, mqtt, @stomp/stompjs; `npm ci` from the package-lock.json files under tests/),
# and chromium for the web console's browser tests, and Apache Kafka's jars (Java tests,
# Kafka peer; needs a JDK and maven). Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v kcat >/dev/null 2>&1 || need+=(kcat)
  command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # differential tests
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)  # conformance peer
  command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)  # MQTT CLI tests
  [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)  # MQTT conformance peer and benchmark (not started)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the web console's browser tests
  command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)  # Java Kafka client tests
  command -v mvn >/dev/null 2>&1 || need+=(maven)  # fetches Apache Kafka's jars (below)
  if [ ${#need[@]} -gt 0 ]; then
    echo "install-test-deps: apt-get install ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # services installed here (redis-server, rabbitmq-server) must not start on their
    # default ports: a policy-rc.d that denies starts, only while installing
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod +x /usr/sbin/policy-rc.d
      made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
    [ -z "$made_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  fi
fi
echo "install-test-deps: pip install -e .[test]"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Node clients (RESP, AMQP, Kafka tests) and the second AWS SDK family (the AWS SDK for
# JavaScript v3, tests/protocols/aws/test_js_sdk.py); each pinned by its package-lock.json.
for dir in tests/protocols/resp/node tests/protocols/amqp/node tests/protocols/kafka/node tests/protocols/aws/js tests/protocols/mqtt/node tests/protocols/stomp/node \
    tests/protocols/aws/js_h2; do
  if command -v npm >/dev/null 2>&1 && [ ! -d "$dir/node_modules" ]; then
    echo "install-test-deps: npm ci in $dir"
    npm ci --silent --no-audit --no-fund --prefix "$dir"
  fi
done
# Apache Kafka's jars (kafka-clients, kafka-streams, its tools and broker) for the Java
# tests and the Kafka peer: `mvn dependency:copy-dependencies` from scripts/java/pom.xml
# into one cache directory, fetched again only when the pom changes.
kafka_jars="${MQLITE_KAFKA_JARS:-$HOME/.cache/mqlite/kafka-jars}"
if command -v mvn >/dev/null 2>&1; then
  pom_sum="$(sha256sum scripts/java/pom.xml | cut -d' ' -f1)"
  if [ "$(cat "$kafka_jars/.complete" 2>/dev/null)" != "$pom_sum" ]; then
    echo "install-test-deps: mvn dependency:copy-dependencies -> $kafka_jars"
    rm -rf "$kafka_jars"
    mvn -q -B -f scripts/java/pom.xml dependency:copy-dependencies -DoutputDirectory="$kafka_jars"
    echo "$pom_sum" > "$kafka_jars/.complete"
  fi
fi
# The AWS SDK for Java v2 (Kinesis over CBOR, tests/protocols/aws/kinesis/test_kinesis_cbor.py):
# Maven resolves the pinned BOM once; the test then builds offline.
java_dir=tests/protocols/aws/java
if command -v mvn >/dev/null 2>&1 && [ ! -f "$java_dir/target/classpath.txt" ]; then
  echo "install-test-deps: mvn package in $java_dir"
  (cd "$java_dir" && mvn -q -B package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt)
fi
echo "install-test-deps: done"
