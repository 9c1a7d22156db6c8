# Sourced by the AMQP conformance scripts: starts Debian's rabbitmq-server as a private
# peer (scripts/rabbitmq-peer.sh) on RABBITMQ_PORT and this checkout's mqlite on a free
# port (sets MQLITE_PORT), both under WORK, and stops both when the script exits.
# Needs ROOT (the checkout), WORK, RABBITMQ_PORT and TAG (the prefix of its messages).
peers_cleanup() {
  [ -n "${mq_pid:-}" ] && kill "$mq_pid" 2>/dev/null || true
  bash "$ROOT/scripts/rabbitmq-peer.sh" stop "$WORK/rabbitmq-node" >/dev/null 2>&1 || true
}
trap peers_cleanup EXIT
bash "$ROOT/scripts/rabbitmq-peer.sh" start "$WORK/rabbitmq-node" "$RABBITMQ_PORT"
mq_pid=$(bash "$ROOT/scripts/mqlite-peer.sh" amqp "$WORK/mqlite.log")
MQLITE_PORT=$(cat "$WORK/mqlite.log.port")
echo "$TAG: mqlite (this checkout) on port $MQLITE_PORT"
