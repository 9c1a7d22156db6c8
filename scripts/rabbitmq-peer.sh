#!/usr/bin/env bash
# Starts (or stops) Debian's rabbitmq-server as a private peer for conformance runs and
# benchmarks: its own node name, ports, Erlang cookie, data and log directories under DIR,
# so it never touches the system's node or the default ports (5672, 25672, 4369).
#
#   scripts/rabbitmq-peer.sh start DIR AMQP_PORT   # returns once the node answers AMQP
#   scripts/rabbitmq-peer.sh stop DIR
#
# With RABBITMQ_PEER_STOMP_PORT set, the STOMP plugin is enabled too and listens there
# (scripts/conformance-stomp.sh).
#
# The node's distribution port is AMQP_PORT+1 and its epmd port AMQP_PORT+2.
set -euo pipefail
cmd=$1 dir=$2
port=${3:-47672}
bin=/usr/lib/rabbitmq/bin
if [ ! -x "$bin/rabbitmq-server" ]; then
  echo "rabbitmq-peer: rabbitmq-server is not installed (scripts/install-test-deps.sh)" >&2
  exit 2
fi
mkdir -p "$dir"
envfile="$dir/env.sh"
if [ "$cmd" = start ]; then
  cat >"$envfile" <<EOF
export HOME="$dir"
export RABBITMQ_NODENAME="mqlitepeer$port@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$((port + 1))
export ERL_EPMD_PORT=$((port + 2))
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_PID_FILE="$dir/rabbit.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
EOF
  # the CLI reads the cookie from the real user's home: hand it the node's explicitly
  [ -f "$dir/.erlang.cookie" ] || { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie"; chmod 400 "$dir/.erlang.cookie"; }
  printf '[].\n' >"$dir/enabled_plugins"
  [ -z "${RABBITMQ_PEER_STOMP_PORT:-}" ] || printf '[rabbitmq_stomp].\n' >"$dir/enabled_plugins"
  printf '[].\n' >"$dir/advanced.config"
  # loopback_users none: pika's tests log in as guest; quorum/stream queues need no plugin
  printf 'loopback_users = none\nlog.console = false\nlog.file.level = warning\n' >"$dir/rabbitmq.conf"
  [ -z "${RABBITMQ_PEER_STOMP_PORT:-}" ] || printf 'stomp.listeners.tcp.1 = 127.0.0.1:%s\n' "$RABBITMQ_PEER_STOMP_PORT" >>"$dir/rabbitmq.conf"
  # shellcheck disable=SC1090
  . "$envfile"
  # the port is in the kernel's ephemeral range, so a client's outgoing connection can
  # hold it for a while (RabbitMQ then fails with eaddrinuse): try a few times
  echo "rabbitmq-peer: starting $RABBITMQ_NODENAME on 127.0.0.1:$port (data in $dir)"
  for attempt in 1 2 3 4 5; do
    nohup "$bin/rabbitmq-server" >"$dir/server.out" 2>&1 &
    launcher=$!
    echo "$launcher" >"$dir/launcher.pid"
    for _ in $(seq 120); do
      if ! kill -0 "$launcher" 2>/dev/null; then break; fi  # the node gave up
      if "$bin/rabbitmqctl" --erlang-cookie "$(cat "$dir/.erlang.cookie")" -q await_startup -t 1 >/dev/null 2>&1; then
        echo "rabbitmq-peer: up"
        exit 0
      fi
      sleep 1
    done
    echo "rabbitmq-peer: attempt $attempt failed ($(grep -o 'eaddrinuse' "$dir/server.out" | head -1)); retrying" >&2
    sleep 3
  done
  echo "rabbitmq-peer: did not start; see $dir/server.out" >&2
  exit 1
elif [ "$cmd" = stop ]; then
  [ -f "$envfile" ] || exit 0
  # shellcheck disable=SC1090
  . "$envfile"
  "$bin/rabbitmqctl" --erlang-cookie "$(cat "$dir/.erlang.cookie")" -q stop >/dev/null 2>&1 || true
  # the node's own pid file, then its epmd (started for this node's port only)
  if [ -f "$RABBITMQ_PID_FILE" ]; then kill "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null || true; fi
  epmd_pid=$(ss -ltnpH "sport = :$ERL_EPMD_PORT" | sed -n 's/.*"epmd",pid=\([0-9]*\).*/\1/p' | head -1)
  [ -n "$epmd_pid" ] && kill "$epmd_pid" 2>/dev/null || true
  echo "rabbitmq-peer: stopped $RABBITMQ_NODENAME"
else
  echo "usage: $0 start|stop DIR [AMQP_PORT]" >&2
  exit 2
fi
