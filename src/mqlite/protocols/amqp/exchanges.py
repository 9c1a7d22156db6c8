"""Exchange.Declare / Delete / Bind / Unbind handlers (exchange-to-exchange bindings included).

Each handler takes the channel and the decoded pamqp method, applies it through the
`AmqpBroker` and replies (unless `nowait`). Errors are raised as `AmqpError` and turned
into Channel.Close / Connection.Close by the connection.
Concurrency: the server's event loop; synchronous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp import commands

if TYPE_CHECKING:
    from mqlite.protocols.amqp.channel import Channel


def exchange_declare(ch: Channel, m: Any) -> None:
    """Exchange.Declare (type, passive, durable, auto-delete, internal, alternate-exchange)."""
    if m.exchange:
        ch.broker.authorize(ch.conn, ch.vhost, "read" if m.passive else "create", "router", m.exchange, 40, 10)
    ch.broker.declare_exchange(
        ch.vhost, m.exchange, m.exchange_type, passive=m.passive, durable=m.durable,
        auto_delete=m.auto_delete, internal=m.internal, arguments=dict(m.arguments or {}),
    )
    if not m.nowait:
        ch.send_method(commands.Exchange.DeclareOk())


def exchange_delete(ch: Channel, m: Any) -> None:
    """Exchange.Delete (if-unused)."""
    ch.broker.authorize(ch.conn, ch.vhost, "admin", "router", m.exchange, 40, 20)
    ch.broker.delete_exchange(ch.vhost, m.exchange, m.if_unused)
    if not m.nowait:
        ch.send_method(commands.Exchange.DeleteOk())


def exchange_bind(ch: Channel, m: Any) -> None:
    """Exchange.Bind: messages routed by `source` with this key also go through `destination`."""
    ch.broker.bind(ch.conn, ch.vhost, m.source, "exchange", m.destination, m.routing_key,
                   dict(m.arguments or {}))
    if not m.nowait:
        ch.send_method(commands.Exchange.BindOk())


def exchange_unbind(ch: Channel, m: Any) -> None:
    """Exchange.Unbind."""
    ch.broker.unbind(ch.conn, ch.vhost, m.source, "exchange", m.destination, m.routing_key,
                     dict(m.arguments or {}))
    if not m.nowait:
        ch.send_method(commands.Exchange.UnbindOk())


HANDLERS = {
    commands.Exchange.Declare: exchange_declare,
    commands.Exchange.Delete: exchange_delete,
    commands.Exchange.Bind: exchange_bind,
    commands.Exchange.Unbind: exchange_unbind,
}
