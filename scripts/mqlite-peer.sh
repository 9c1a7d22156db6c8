#!/usr/bin/env bash
# Starts this checkout's mqlite (in memory) with one protocol listener on a free port, for
# the conformance scripts: prints the server's pid; the port goes to LOG.port once the
# server logs that it listens (a fixed port could be taken by an outgoing connection).
#
#   pid=$(scripts/mqlite-peer.sh amqp|redis|kafka LOG)
set -euo pipefail
cd "$(dirname "$0")/.."
proto=$1 log=$2
flags=(--http-port off --kafka-port off --amqp-port off --redis-port off --stomp-port off "--$proto-port" 0)
rm -f "$log.port"
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" nohup python3 -c "from mqlite.cli import main; main()" \
  serve --memory "${flags[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 150); do
  port=$(sed -n "s/.*$proto listening on [0-9.]*:\([0-9]*\).*/\1/p" "$log" | head -1)
  if [ -n "$port" ]; then echo "$port" >"$log.port"; echo "$pid"; exit 0; fi
  sleep 0.2
done
echo "mqlite-peer: mqlite did not start; see $log" >&2
kill "$pid" 2>/dev/null || true
exit 1
