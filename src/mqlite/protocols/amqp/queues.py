"""Queue.Declare / Bind / Unbind / Purge / Delete handlers.

Each handler takes the channel and the decoded pamqp method, applies it through the
`AmqpBroker` and replies (unless `nowait`). RabbitMQ's rules (server-named queues,
exclusive ownership, equivalence, if-unused/if-empty) live in `broker.py`.
Concurrency: the server's event loop; synchronous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp import commands

from mqlite.protocols.amqp.broker import _ready

if TYPE_CHECKING:
    from mqlite.protocols.amqp.channel import Channel


class _DeclareOk(commands.Queue.DeclareOk):
    """Queue.DeclareOk without pamqp's queue-name pattern: RabbitMQ queue names are any
    UTF-8 up to 255 bytes ('%', non-ASCII), which the broker has checked already."""

    def validate(self) -> None:
        if self.queue is not None and len(self.queue.encode()) > 255:
            raise ValueError("Max length exceeded for queue")


def queue_declare(ch: Channel, m: Any) -> None:
    """Queue.Declare (server-named, passive, durable, exclusive, auto-delete, x-arguments)."""
    name = m.queue or (ch.last_queue if m.passive else "")
    if name:  # RabbitMQ: configure permission (a passive declare only looks: read)
        ch.broker.authorize(ch.conn, ch.vhost, "read" if m.passive else "create", "queue", name, 50, 10)
    rec = ch.broker.declare_queue(
        ch.conn, ch.vhost, name, passive=m.passive, durable=m.durable, exclusive=m.exclusive,
        auto_delete=m.auto_delete, arguments=dict(m.arguments or {}),
    )
    ch.last_queue = rec.name
    if not m.nowait:
        ch.send_method(_DeclareOk(
            queue=rec.name, message_count=_ready(rec.queue.counts()), consumer_count=len(rec.consumers)))


def queue_bind(ch: Channel, m: Any) -> None:
    """Queue.Bind (an empty queue name means the channel's last declared queue)."""
    queue = m.queue or ch.last_queue
    ch.broker.authorize(ch.conn, ch.vhost, "write", "queue", queue, 50, 20)  # RabbitMQ: write on the queue,
    ch.broker.authorize(ch.conn, ch.vhost, "read", "router", m.exchange or "amq.default", 50, 20)  # read on the exchange
    ch.broker.bind(ch.conn, ch.vhost, m.exchange, "queue", queue, m.routing_key, dict(m.arguments or {}))
    if not m.nowait:
        ch.send_method(commands.Queue.BindOk())


def queue_unbind(ch: Channel, m: Any) -> None:
    """Queue.Unbind."""
    queue = m.queue or ch.last_queue
    ch.broker.unbind(ch.conn, ch.vhost, m.exchange, "queue", queue, m.routing_key, dict(m.arguments or {}))
    ch.send_method(commands.Queue.UnbindOk())


def queue_purge(ch: Channel, m: Any) -> None:
    """Queue.Purge: drop ready messages (unacked ones stay)."""
    ch.broker.authorize(ch.conn, ch.vhost, "read", "queue", m.queue or ch.last_queue, 50, 30)
    count = ch.broker.purge_queue(ch.conn, ch.vhost, m.queue or ch.last_queue)
    if not m.nowait:
        ch.send_method(commands.Queue.PurgeOk(message_count=count))


def queue_delete(ch: Channel, m: Any) -> None:
    """Queue.Delete (if-unused, if-empty); this channel's own consumers of the queue
    hear Basic.Cancel after the DeleteOk, as on RabbitMQ."""
    ch.broker.authorize(ch.conn, ch.vhost, "admin", "queue", m.queue or ch.last_queue, 50, 40)
    ch.held_cancels = []
    try:
        count = ch.broker.delete_queue(ch.conn, ch.vhost, m.queue or ch.last_queue, m.if_unused, m.if_empty)
        if not m.nowait:
            ch.send_method(commands.Queue.DeleteOk(message_count=count))
    finally:
        held, ch.held_cancels = ch.held_cancels, None
    for cancel in held:
        ch.send_method(cancel)


HANDLERS = {
    commands.Queue.Declare: queue_declare,
    commands.Queue.Bind: queue_bind,
    commands.Queue.Unbind: queue_unbind,
    commands.Queue.Purge: queue_purge,
    commands.Queue.Delete: queue_delete,
}
