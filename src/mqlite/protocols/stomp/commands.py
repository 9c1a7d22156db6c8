"""STOMP client frames after CONNECT: SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN,
COMMIT, ABORT, DISCONNECT, on the AMQP front-end's model (`AmqpBroker`).

A destination resolves as RabbitMQ's STOMP plugin does it (`destinations.py`):
- SEND `/queue/q` declares `q` durable once per connection and publishes to the default
  exchange; `/amq/queue/q` and `/reply-queue/q` publish there without declaring;
  `/topic/k` publishes to `amq.topic` with key `k`; `/exchange/e/k` to `e` (404 if absent).
- SUBSCRIBE `/queue/q` declares and consumes `q`; `/amq/queue/q` consumes an existing
  queue; `/topic/k` and `/exchange/e/k` consume a new queue bound with key `k`:
  exclusive and auto-delete, or durable (`durable:true` or `persistent:true`, with an
  `id`) named `x-queue-name` or `stomp-subscription-<md5 of destination and id>`.
  Queue headers (`durable`, `auto-delete`, `exclusive`, `x-message-ttl`, `x-max-length`,
  `x-queue-type`...) become Queue.Declare's flags and arguments.
- `reply-to: /temp-queue/<id>` on a SEND creates (once per id) an exclusive auto-delete
  `amq.gen-` queue the connection consumes with subscription `/temp-queue/<id>`; the
  message carries the queue's name as its AMQP `reply_to`.
ACK/NACK take the MESSAGE's `ack` header in 1.2 (`id`), its `message-id` in 1.0/1.1;
`ack: client` acknowledges every earlier pending message of the subscription too. NACK
requeues unless `requeue: false` (then it dead-letters). A frame with a `transaction`
header is held until COMMIT (run in order) or dropped by ABORT; at most 16 open
transactions of 1024 frames each (RabbitMQ's limits).
Concurrency: the server's event loop; called synchronously in frame order.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import QueueFull
from mqlite.protocols.amqp import eager
from mqlite.protocols.amqp.entities import AmqpQueue
from mqlite.protocols.amqp.properties import envelope_for
from mqlite.protocols.stomp import destinations as D
from mqlite.protocols.stomp import errors as E
from mqlite.protocols.stomp.frames import Frame
from mqlite.protocols.stomp.headers import publish_properties
from mqlite.protocols.stomp.subscription import Subscription

if TYPE_CHECKING:
    from mqlite.protocols.stomp.connection import StompConnection

log = logging.getLogger("mqlite.stomp")

MAX_TRANSACTIONS = 16
MAX_TRANSACTION_FRAMES = 1024
#: SUBSCRIBE/SEND headers that become queue arguments (RabbitMQ's HEADER_ARGUMENTS)
_INT_ARGS = ("x-expires", "x-max-length", "x-max-length-bytes", "x-max-priority", "x-message-ttl",
             "x-stream-max-segment-size-bytes")
_TEXT_ARGS = ("x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-age", "x-queue-type",
              "x-overflow", "x-single-active-consumer")


def dispatch(conn: StompConnection, frame: Frame) -> None:
    command = frame.command
    handler = _HANDLERS.get(command)
    if handler is None:
        if command in ("CONNECT", "STOMP"):
            raise E.StompError("Bad CONNECT", "Already connected\n")
        raise E.bad_command(command)
    tx = frame.get("transaction")
    if tx is not None and command in ("SEND", "ACK", "NACK"):
        held = conn.txs.get(tx)
        if held is None:
            raise E.bad_transaction(tx)
        if len(held) >= MAX_TRANSACTION_FRAMES:
            raise E.StompError("Transaction too large", f"Too many actions in transaction (limit {MAX_TRANSACTION_FRAMES})")
        held.append(frame)
        conn.receipt(frame)
        return
    handler(conn, frame)


# -- SEND -------------------------------------------------------------------------------
def send(conn: StompConnection, frame: Frame) -> None:
    if frame.get("message-id") is not None:
        raise E.header_not_allowed("message-id", "SEND")
    text = frame.get("destination")
    if text is None:
        raise E.missing_destination("SEND")
    dest = D.parse(text)
    headers = frame.header_map()
    if dest.kind == "temp_queue":
        raise E.invalid_for(text, "SEND")
    if dest.kind == "queue" and dest.name not in conn.declared:
        _declare(conn, dest.name, headers, durable=True, exclusive=False, auto_delete=False)
        conn.declared.add(dest.name)
    reply_to = headers.get("reply-to")
    if reply_to is not None and reply_to.startswith("/temp-queue/"):
        headers["reply-to"] = _reply_queue(conn, reply_to)
    exchange, key = D.routing(dest)
    broker = conn.broker
    if broker.authz is not None and broker.authz.enabled:
        broker.authorize(conn, conn.vhost, "write", "router", exchange or "amq.default", 60, 40)
    raw, facts = publish_properties(headers)
    target, is_queue = broker.resolve_publish(conn.vhost, exchange, key)
    env = envelope_for(exchange, key, raw, frame.body, facts)
    conn.sending(1)
    if is_queue and target is not None:  # the default exchange: batched per read
        batch = conn.batch
        if batch is not None and batch.queue is not target:
            conn.flush_batch()
            batch = None
        if batch is None:
            batch = conn.batch = SendBatch(conn, target)
        batch.envs.append(env)
        batch.frames.append(frame)
        return
    eager.start(broker.route(conn.vhost, target, is_queue, env, facts.headers),
                lambda _, exc: _sent(conn, frame, exc))


def _sent(conn: StompConnection, frame: Frame, exc: BaseException | None) -> None:
    """A SEND is stored (RECEIPT if asked), refused by a full queue (no RECEIPT, as
    RabbitMQ's rejected publish) or failed (ERROR)."""
    conn.send_done(1)
    if exc is None:
        conn.receipt(frame)
    elif isinstance(exc, QueueFull):
        log.info("stomp %s: SEND to %s refused: %s", conn.peername, frame.get("destination"), exc)
    else:
        log.warning("stomp %s: SEND to %s failed: %r", conn.peername, frame.get("destination"), exc)
        conn.fail(E.StompError("internal_error", f"INTERNAL_ERROR - {exc}"), frame)


class SendBatch:
    """Consecutive SENDs of one read to one queue (via the default exchange): one
    `Queue.send_batch`, one append (as the AMQP front-end's PublishBatch)."""

    __slots__ = ("conn", "envs", "frames", "queue")

    def __init__(self, conn: StompConnection, queue: AmqpQueue) -> None:
        self.conn = conn
        self.queue = queue
        self.envs: list[Any] = []
        self.frames: list[Frame] = []

    def flush(self) -> None:
        conn, frames = self.conn, self.frames

        def done(results: Any, exc: BaseException | None) -> None:
            for i, frame in enumerate(frames):
                r = exc if exc is not None else results[i]
                _sent(conn, frame, r if isinstance(r, BaseException) else None)

        eager.start(self.queue.send_batch(self.envs), done)


def _queue_args(headers: dict[str, str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name in _INT_ARGS:
        if name in headers:
            try:
                args[name] = int(headers[name].strip())
            except ValueError:
                raise E.StompError("Processing error", f"Invalid integer header {name}: '{headers[name]}'") from None
    for name in _TEXT_ARGS:
        if name in headers:
            value = headers[name].strip()
            args[name] = value == "true" if name == "x-single-active-consumer" else value
    if args.get("x-queue-type") in ("", "undefined"):
        del args["x-queue-type"]
    return args


def _flag(headers: dict[str, str], name: str, default: bool) -> bool:
    value = headers.get(name)
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    return default


def _declare(conn: StompConnection, name: str, headers: dict[str, str], *, durable: bool, exclusive: bool,
             auto_delete: bool) -> Any:
    durable = _flag(headers, "durable", _flag(headers, "persistent", durable))
    exclusive = _flag(headers, "exclusive", exclusive)
    auto_delete = _flag(headers, "auto-delete", auto_delete)
    broker = conn.broker
    if broker.authz is not None and broker.authz.enabled:
        broker.authorize(conn, conn.vhost, "create", "queue", name or "amq.gen", 50, 10)
    return broker.declare_queue(conn, conn.vhost, name, passive=False, durable=durable, exclusive=exclusive,
                                auto_delete=auto_delete, arguments=_queue_args(headers))


def _reply_queue(conn: StompConnection, reply_to: str) -> str:
    """The queue behind `/temp-queue/<id>` (made and consumed on first use)."""
    temp_id = reply_to[len("/temp-queue/"):]
    name = conn.reply_queues.get(temp_id)
    if name is not None:
        return name
    qrec = conn.broker.declare_queue(conn, conn.vhost, "", passive=False, durable=False, exclusive=True,
                                     auto_delete=True, arguments={})
    tag = "T_" + reply_to
    sub = Subscription(conn, qrec, tag, reply_to, "auto", 0, f"id='{reply_to}'", reply_to)
    conn.subs[tag] = sub
    conn.broker.consumer_added(qrec, sub)
    sub.start()
    conn.reply_queues[temp_id] = qrec.name
    return str(qrec.name)


# -- SUBSCRIBE / UNSUBSCRIBE ------------------------------------------------------------
def _durable(headers: dict[str, str]) -> bool:
    return headers.get("durable") in ("true", "True") or headers.get("persistent") in ("true", "True")


def _consumer_tag(frame: Frame) -> tuple[str, str | None, str]:
    sub_id = frame.get("id")
    if sub_id is not None:
        if sub_id.startswith("/temp-queue/"):
            raise E.invalid_unsubscribe_id()
        return "T_" + sub_id, sub_id, f"id='{sub_id}'"
    dest = frame.get("destination")
    if dest is None:
        raise E.unsubscribe_needs_id()
    return "Q_" + dest, None, f"destination='{dest}'"


def subscribe(conn: StompConnection, frame: Frame) -> None:
    headers = frame.header_map()
    if _durable(headers) and "id" not in headers:
        raise E.durable_needs_id()
    text = frame.get("destination")
    if text is None:
        raise E.missing_destination("SUBSCRIBE")
    dest = D.parse(text)
    ack = headers.get("ack", "auto")
    if ack not in ("auto", "client", "client-individual"):
        raise E.StompError("Processing error", f"Invalid ack mode: '{ack}'\n")
    prefetch = _int_header(headers, "prefetch-count", 0)
    tag, sub_id, description = _consumer_tag(frame)
    if tag in conn.subs:  # before anything is declared or bound
        raise E.duplicate_subscription(tag)
    broker = conn.broker
    vhost = conn.vhost
    if dest.kind == "temp_queue":
        raise E.invalid_for(text, "SUBSCRIBE")
    if dest.kind == "queue":
        qrec = _declare(conn, dest.name, headers, durable=True, exclusive=False, auto_delete=False)
    elif dest.kind in ("amqqueue", "reply_queue"):
        qrec = broker.queue(vhost, dest.name, conn)
    else:
        exchange, key = D.routing(dest)
        broker.exchange(vhost, exchange)  # NOT_FOUND before anything is declared
        durable = _durable(headers)
        name = headers.get("x-queue-name") or _subscription_queue(text, sub_id if durable else None)
        if dest.kind == "exchange":
            qrec = _declare(conn, name, headers, durable=False, exclusive=True, auto_delete=True)
        elif durable:
            qrec = _declare(conn, name, headers, durable=True, exclusive=False, auto_delete=True)
        else:
            qrec = _declare(conn, name, headers, durable=False, exclusive=True, auto_delete=True)
        if broker.authz is not None and broker.authz.enabled:
            broker.authorize(conn, vhost, "read", "router", exchange, 50, 20)
        broker.bind(conn, vhost, exchange, "queue", qrec.name, key, {})
    if qrec.kind == "stream":  # RabbitMQ reads streams with x-stream-offset: not served here
        raise E.StompError("not_implemented", f"NOT_IMPLEMENTED - consuming stream queue '{qrec.name}' in vhost "
                           f"'{vhost}' over STOMP is not supported by mqlite")
    if broker.authz is not None and broker.authz.enabled:
        broker.authorize(conn, vhost, "read", "queue", qrec.name, 60, 20)
    sub = Subscription(conn, qrec, tag, sub_id, ack, prefetch, description, text,
                       _int_header(headers, "x-priority", 0))
    sub.durable_topic = dest.kind == "topic" and _durable(headers)
    conn.subs[tag] = sub
    broker.consumer_added(qrec, sub)
    sub.start()
    conn.receipt(frame)


def _subscription_queue(destination: str, durable_id: str | None) -> str:
    """RabbitMQ's `stomp-subscription-<base64 md5>`: stable for a durable subscription's
    (destination, id), random otherwise."""
    import os

    seed = repr((destination, durable_id)).encode() if durable_id is not None else os.urandom(16)
    digest = hashlib.md5(seed, usedforsecurity=False).digest()
    return "stomp-subscription-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _int_header(headers: dict[str, str], name: str, default: int) -> int:
    value = headers.get(name)
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise E.StompError("Invalid header", f"'{name}' must be an integer: '{value}'\n") from None


def unsubscribe(conn: StompConnection, frame: Frame) -> None:
    tag, _, description = _consumer_tag(frame)
    sub = conn.subs.get(tag)
    if sub is None:
        raise E.no_such_subscription(description)
    conn.remove_subscription(sub)
    if sub.durable_topic and _durable(frame.header_map()):
        conn.broker.delete_queue(conn, conn.vhost, sub.qrec.name, False, False)
    conn.receipt(frame)


# -- ACK / NACK -------------------------------------------------------------------------
def _settle(conn: StompConnection, frame: Frame) -> list[Any]:
    header = "id" if conn.version == "1.2" else "message-id"
    value = frame.get(header)
    if value is None:
        raise E.missing_ack_header(frame.command, header)
    parts = value.split("@@")
    if len(parts) != 3 or not parts[2].isdigit():
        raise E.invalid_ack_header(frame.command, header)
    ctag, _, tag_text = parts
    tag = int(tag_text)
    pending = conn.unacked.get(tag)
    if pending is None or pending.sub.tag != ctag or parts[1] != conn.session:
        if ctag not in conn.subs:
            raise E.no_subscription_for(value)
        raise E.unknown_delivery_tag(tag)
    sub = pending.sub
    if sub.ack == "client":  # cumulative: every earlier pending delivery of the subscription
        tags = [t for t, p in conn.unacked.items() if t <= tag and p.sub is sub]
    else:
        tags = [tag]
    return [conn.unacked.pop(t) for t in tags]


def ack(conn: StompConnection, frame: Frame) -> None:
    settled = _settle(conn, frame)
    acks = conn.acks  # deleted in one batch per queue when this read is done
    for p in settled:
        acks.setdefault(p.queue, []).append(p.receipt)
    conn.settled(settled)
    conn.receipt(frame)


def nack(conn: StompConnection, frame: Frame) -> None:
    settled = _settle(conn, frame)
    requeue = frame.get("requeue", "true") != "false"
    for p in reversed(settled):
        if requeue:
            p.queue.release(p.receipt)
        else:
            eager.start(p.queue.reject(p.receipt), _ignore)
    conn.settled(settled)
    conn.receipt(frame)


def _ignore(_: Any, exc: BaseException | None) -> None:
    if exc is not None:
        log.warning("stomp: dead-lettering a NACKed message failed: %r", exc)


# -- transactions -----------------------------------------------------------------------
def _tx(frame: Frame) -> str:
    tx = frame.get("transaction")
    if tx is None:
        raise E.missing_transaction(frame.command)
    return tx


def begin(conn: StompConnection, frame: Frame) -> None:
    tx = _tx(frame)
    if len(conn.txs) >= MAX_TRANSACTIONS:
        raise E.StompError("Transaction limit exceeded", f"Too many concurrent transactions (limit {MAX_TRANSACTIONS})")
    conn.txs[tx] = []
    conn.receipt(frame)


def commit(conn: StompConnection, frame: Frame) -> None:
    tx = _tx(frame)
    held = conn.txs.pop(tx, None)
    if held is None:
        raise E.bad_transaction(tx)
    for f in held:
        if conn.closing:
            return
        _HANDLERS[f.command](conn, Frame(f.command, [(k, v) for k, v in f.headers if k not in ("receipt", "transaction")],
                                         f.body))
    conn.receipt(frame)


def abort(conn: StompConnection, frame: Frame) -> None:
    tx = _tx(frame)
    if conn.txs.pop(tx, None) is None:
        raise E.bad_transaction(tx)
    conn.receipt(frame)


# -- DISCONNECT -------------------------------------------------------------------------
def disconnect(conn: StompConnection, frame: Frame) -> None:
    """Ignore what follows; once every SEND in flight is stored, RECEIPT (if asked) and close."""
    conn.disconnecting = True

    async def finish() -> None:
        await conn.wait_idle()
        conn.receipt(frame)
        conn.closing = True
        conn.close()

    eager.start(finish(), _ignore)


_HANDLERS = {
    "SEND": send, "SUBSCRIBE": subscribe, "UNSUBSCRIBE": unsubscribe, "ACK": ack, "NACK": nack,
    "BEGIN": begin, "COMMIT": commit, "ABORT": abort, "DISCONNECT": disconnect,
}
