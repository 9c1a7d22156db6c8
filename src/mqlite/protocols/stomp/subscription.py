"""One STOMP subscription: a consumer of a queue of the shared AMQP model.

Owns the push loop, the same as an AMQP consumer's (`amqp/channel.py`): ask the queue
for up to `credit()` messages leased to the connection until released
(`owner=connection`), write them as MESSAGE frames, wait for credit (ACK/NACK) or new
messages. `ack: auto` deletes on send (no-ack); `client` and `client-individual` keep
each delivery pending in the connection until ACK (delete), NACK (requeue by default,
dead-letter with `requeue:false`) or disconnect (requeued). The AMQP model sees it as a
consumer of the queue record (`key`, `priority`, `credit`, `poke`, `channel`): queue
deletion cancels it through `channel.server_cancel`, exclusive and auto-delete queues
follow it.
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import QueueNotFound

if TYPE_CHECKING:
    from mqlite.protocols.stomp.connection import StompConnection

log = logging.getLogger("mqlite.stomp")

MAX_BATCH = 256
POLL_WAIT = 5.0


class Subscription:
    """See module docstring. `tag` is RabbitMQ's consumer tag (`T_<id>` or `Q_<dest>`)."""

    def __init__(self, conn: StompConnection, qrec: Any, tag: str, sub_id: str | None, ack: str,
                 prefetch: int, description: str, destination: str, priority: int = 0) -> None:
        self.conn = conn
        self.channel = conn  # the AMQP model calls channel.server_cancel(consumer)
        self.qrec = qrec
        self.tag = tag
        self.sub_id = sub_id
        self.ack = ack  # auto | client | client-individual
        self.prefetch = prefetch
        self.description = description
        self.destination = destination  # the SUBSCRIBE's destination header
        self.priority = priority
        self.unacked = 0
        self.key = (id(conn), 0, tag)
        self.active = True
        self.blocked = False
        self.receiving = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.durable_topic = False

    @property
    def no_ack(self) -> bool:
        return self.ack == "auto"

    def start(self) -> None:
        self.task = task = asyncio.get_running_loop().create_task(self.run())
        tasks = self.conn.tasks  # the listener's: cancelled when it closes (server stop)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def stop(self) -> None:
        """Deactivate; a poll in progress releases what it gets (see AMQP's Consumer.stop)."""
        self.active = False
        task = self.task
        if task is not None and task is not asyncio.current_task() and not self.receiving:
            task.cancel()
        self.task = None
        self.wake.set()

    def credit(self) -> int:
        if self.conn.closing:
            return 0
        if self.no_ack or not self.prefetch:
            return MAX_BATCH
        return min(MAX_BATCH, self.prefetch - self.unacked)

    def poke(self) -> None:
        if self.blocked:
            self.blocked = False
            self.wake.set()

    def outranked(self) -> bool:
        qrec = self.qrec
        if len(qrec.consumers) < 2:
            return False
        return any(c.priority > self.priority and c.credit() > 0 for c in qrec.consumers.values())

    async def run(self) -> None:
        conn = self.conn
        queue = self.qrec.queue
        try:
            while self.active:
                n = self.credit()
                if n > 0 and self.qrec.single_active and next(iter(self.qrec.consumers.values()), None) is not self:
                    n = 0
                if n > 0 and self.outranked():
                    n = 0
                if n <= 0:
                    self.blocked = True
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                self.receiving = True
                try:
                    msgs = await queue.receive(n, POLL_WAIT, math.inf, owner=conn)
                finally:
                    self.receiving = False
                if not msgs:
                    continue
                if not self.active or conn.closing:
                    for m in msgs:
                        queue.release(m.receipt)
                    return
                conn.deliver(self, queue, msgs)
                if conn._write_paused:
                    await conn.drain()
        except asyncio.CancelledError:
            pass
        except (ConnectionError, QueueNotFound):
            pass
        except Exception:
            log.exception("stomp subscription %s on %s failed", self.tag, self.qrec.name)
