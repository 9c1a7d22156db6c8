"""One STOMP subscription: an AMQP consumer (`amqp.channel.Consumer`) whose channel is
the STOMP connection.

The push loop is the AMQP consumer's: ask the queue for up to `credit()` messages leased
to the connection until released (`owner=connection`), write them (`connection.deliver`
makes MESSAGE frames), wait for credit (ACK/NACK) or new messages. `ack: auto` deletes
on send (no-ack); `client` and `client-individual` keep each delivery pending in the
connection until ACK (delete), NACK (requeue by default, dead-letter with
`requeue:false`) or disconnect (requeued). The AMQP model sees an ordinary consumer of
the queue record: queue deletion cancels it through `channel.server_cancel`, exclusive
and auto-delete queues follow it, `x-priority` and single-active-consumer apply.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.protocols.amqp.channel import MAX_BATCH, Consumer

if TYPE_CHECKING:
    from mqlite.protocols.stomp.connection import StompConnection


class Subscription(Consumer):
    """See module docstring. `tag` is RabbitMQ's consumer tag (`T_<id>` or `Q_<dest>`)."""

    __slots__ = ("ack", "conn", "description", "destination", "durable_topic", "sub_id")
    qrec: Any  # always a queue record here

    def __init__(self, conn: StompConnection, qrec: Any, tag: str, sub_id: str | None, ack: str,
                 prefetch: int, description: str, destination: str, priority: int = 0) -> None:
        super().__init__(conn, qrec, tag, ack == "auto", False, prefetch, {"x-priority": priority})  # type: ignore[arg-type]
        self.conn = conn
        self.sub_id = sub_id
        self.ack = ack  # auto | client | client-individual
        self.description = description
        self.destination = destination  # the SUBSCRIBE's destination header
        self.durable_topic = False

    def start(self) -> None:
        super().start()
        task = self.task
        assert task is not None
        tasks = self.conn.tasks  # the listener's: cancelled when it closes (server stop)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def credit(self) -> int:
        if self.conn.closing:
            return 0
        if self.no_ack or not self.prefetch:
            return MAX_BATCH
        return min(MAX_BATCH, self.prefetch - self.unacked)

