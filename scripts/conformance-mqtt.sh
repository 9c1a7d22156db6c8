#!/usr/bin/env bash
# MQTT conformance: the same scenarios against Debian's mosquitto and mqlite in one run,
# then where they differ. Scenarios: scripts/mqtt_conformance.py (paho-mqtt and raw
# packets: bad input, $SYS, retained, shared subscriptions, no-local, takeover,
# persistent sessions, wills, keep-alive) and MQTT.js (tests/protocols/mqtt/node).
# Ports (override with MQTT_PEER_PORT / MQTT_MQLITE_PORT): 46883 mosquitto, 46884 mqlite.
# Both servers get a 1024-byte maximum packet size so the "too large" case can be seen.
# Needs: mosquitto (apt), paho-mqtt, node + `npm ci` in tests/protocols/mqtt/node.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_PORT=${MQTT_PEER_PORT:-46883}
MQLITE_PORT=${MQTT_MQLITE_PORT:-46884}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/mosquitto.conf" <<CONF
listener $PEER_PORT 127.0.0.1
allow_anonymous true
max_packet_size 1024
persistence false
CONF
/usr/sbin/mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=($!)
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" python3 -m mqlite serve --memory --host 127.0.0.1 \
  --mqtt-port "$MQLITE_PORT" --mqtt-max-packet-size 1024 --http-port off --kafka-port off --amqp-port off \
  --redis-port off > "$work/mqlite.log" 2>&1 &
pids+=($!)
for port in "$PEER_PORT" "$MQLITE_PORT"; do
  for _ in $(seq 300); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done  # not a connect: the port is in the ephemeral range (a self-connect would take it)
done
echo "mosquitto $(/usr/sbin/mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on $PEER_PORT, mqlite on $MQLITE_PORT"
python3 scripts/mqtt_conformance.py "$PEER_PORT" 1024 > "$work/peer.json"
python3 scripts/mqtt_conformance.py "$MQLITE_PORT" 1024 > "$work/mqlite.json"
node_dir=tests/protocols/mqtt/node
if command -v node >/dev/null && [ -d "$node_dir/node_modules/mqtt" ]; then
  (cd "$node_dir" && node mqttjs_checks.js "$PEER_PORT" js > "$work/peer-js.json" && node mqttjs_checks.js "$MQLITE_PORT" js > "$work/mqlite-js.json")
fi
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
peer, mine = (json.load(open(os.path.join(work, f))) for f in ("peer.json", "mqlite.json"))
if os.path.exists(os.path.join(work, "peer-js.json")):
    peer["mqttjs"] = json.load(open(os.path.join(work, "peer-js.json")))
    mine["mqttjs"] = json.load(open(os.path.join(work, "mqlite-js.json")))
same = [k for k in sorted(peer) if peer[k] == mine.get(k)]
diff = [k for k in sorted(peer) if peer[k] != mine.get(k)]
print(f"{len(same)} scenarios the same, {len(diff)} different")
for k in same:
    print(f"  same  {k}: {json.dumps(peer[k])}")
for k in diff:
    print(f"  DIFF  {k}:\n        mosquitto: {json.dumps(peer[k])}\n        mqlite:    {json.dumps(mine.get(k))}")
PY
