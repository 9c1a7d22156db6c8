"""One AMQP channel: consumers, prefetch windows, delivery tags, unacked map, confirms, tx.

Owns: the channel's state and the consumer push loop. Method handlers live in
`exchanges.py`, `queues.py` and `basic.py` (dispatched from `HANDLERS`); this module
implements the shared mechanics they call: deliver (batched into one `writelines`),
ack/nack/reject by tag, publisher confirms in order, channel close/cleanup.

Consumer push: per consumer a task asks its queue for up to (prefetch - unacked)
messages leased until released to this channel (`owner=self`), writes them, and waits
for credit (acks) or new messages. Ack -> `queue.delete(receipt)`, requeue ->
`queue.release(receipt)`, channel close -> `queue.release_owner(self)` per queue.

Invariants: delivery tags increase by one per delivery from 1; every unacked tag has
exactly one leased message; confirms are sent in publish-sequence order (runs of acks
collapse into one `multiple` ack); after close no frame is sent on this channel except
Channel.Close/CloseOk.
Concurrency: the server's event loop; handlers run synchronously in frame order, and a
publish's routing starts synchronously (eager) so effects keep frame order.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from pamqp import commands

from mqlite.core.api import Queue
from mqlite.core.errors import QueueNotFound
from mqlite.errors import MqliteError
from mqlite.protocols.amqp import eager
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.entities import AmqpQueue
from mqlite.protocols.amqp.frames import (
    DeliverEncoder,
    basic_ack_frame,
    basic_nack_frame,
)
from mqlite.protocols.amqp.properties import (
    META_EXCHANGE,
    META_PROPS,
    raw_properties_for,
    with_header,
)

if TYPE_CHECKING:
    from mqlite.protocols.amqp.connection import AmqpConnection
    from mqlite.protocols.amqp.entities import QueueRecord
    from mqlite.protocols.amqp.stream_queue import StreamQueue

log = logging.getLogger("mqlite.amqp")

#: Most messages one receive asks for (no prefetch limit / no-ack consumers).
MAX_BATCH = 256
#: Lease length for AMQP deliveries: until acked, rejected or the channel closes.
INF = math.inf
#: Seconds a consumer long-polls its queue before looping (core caps waits at 20 s);
#: also how long a cancelled consumer's poll may linger (see Consumer.stop).
POLL_WAIT = 5.0


def _ignore(_: Any, exc: BaseException | None) -> None:
    if exc is not None and not isinstance(exc, QueueNotFound):
        log.warning("dead-lettering failed: %r", exc)


def _over_limit(d: Delivery) -> bool:
    """A quorum queue's delivery returned more often than x-delivery-limit allows
    (RabbitMQ: the count of returns exceeds the limit)."""
    qrec = d.qrec
    limit = qrec.delivery_limit if qrec is not None else None
    return limit is not None and d.message.receive_count > limit


class Consumer:
    """A Basic.Consume subscription (see module docstring for the push loop)."""

    __slots__ = (
        "active",
        "args",
        "blocked",
        "channel",
        "encoder",
        "exclusive",
        "key",
        "no_ack",
        "prefetch",
        "priority",
        "qrec",
        "receiving",
        "tag",
        "task",
        "unacked",
        "wake",
    )

    def __init__(self, channel: Channel, qrec: QueueRecord | None, tag: str, no_ack: bool, exclusive: bool,
                 prefetch: int, args: dict[str, Any]) -> None:
        self.channel = channel
        self.qrec = qrec
        self.tag = tag
        self.no_ack = no_ack
        self.exclusive = exclusive
        self.prefetch = prefetch
        self.unacked = 0
        self.args = args
        prio = args.get("x-priority", 0)
        self.priority = prio if isinstance(prio, int) and not isinstance(prio, bool) else 0
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self.active = True
        self.blocked = False
        self.receiving = False
        self.encoder: DeliverEncoder | None = None
        self.key = (id(channel.conn), channel.number, tag)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    def stop(self) -> None:
        """Deactivate. A task parked on `wake` is cancelled; one inside `queue.receive`
        is not (cancelling a long poll can strand the queue's wake-up on a dead waiter):
        it sees `active` false when the poll returns and releases what it got."""
        self.active = False
        task = self.task
        if task is not None and task is not asyncio.current_task() and not self.receiving:
            task.cancel()
        self.task = None
        self.wake.set()

    def credit(self) -> int:
        ch = self.channel
        if not ch.flow or ch.closing:
            return 0
        n = MAX_BATCH
        if self.no_ack:
            return n
        if self.prefetch:
            n = min(n, self.prefetch - self.unacked)
        if ch.global_prefetch:
            n = min(n, ch.global_prefetch - len(ch.unacked))
        return n

    def outranked(self) -> bool:
        """RabbitMQ consumer priorities (x-priority): a consumer gets messages only while
        no higher-priority consumer of the queue has credit."""
        qrec = self.qrec
        if qrec is None or len(qrec.consumers) < 2:
            return False
        mine = self.priority
        return any(c.priority > mine and c.credit() > 0 for c in qrec.consumers.values())

    def poke(self) -> None:
        if self.blocked:
            self.blocked = False
            self.wake.set()

    async def run(self) -> None:
        ch = self.channel
        conn = ch.conn
        qrec = self.qrec
        assert qrec is not None
        queue = cast(Queue, qrec.queue)  # stream queues have their own consumer (StreamConsumer)
        try:
            while self.active:
                n = self.credit()
                if n > 0 and qrec.single_active:
                    first = next(iter(qrec.consumers.values()), None)
                    if first is not self:
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
                    msgs = await queue.receive(n, POLL_WAIT, INF, owner=ch)
                finally:
                    self.receiving = False
                if not msgs:
                    continue
                if self.outranked():  # a higher-priority consumer came or got credit
                    for m in reversed(msgs):
                        queue.release(m.receipt)
                    continue
                if not self.active or ch.closing:
                    for m in msgs:
                        queue.release(m.receipt)
                    return
                ch.deliver(self, queue, msgs)
                if conn.write_blocked:
                    await conn.drain()
        except asyncio.CancelledError:
            pass
        except (ConnectionError, QueueNotFound):
            pass  # the connection went, or the queue was deleted (consumers get Basic.Cancel)
        except Exception:
            log.exception("consumer %s on %s failed", self.tag, qrec.name)


class Delivery:
    __slots__ = ("consumer", "message", "qrec", "queue", "receipt", "tag")

    def __init__(self, tag: int, consumer: Consumer | None, queue: AmqpQueue, message: Any, qrec: Any) -> None:
        self.tag = tag
        self.consumer = consumer
        self.queue = queue
        self.receipt = message.receipt
        self.message = message
        self.qrec = qrec


class Channel:
    """See module docstring."""

    def __init__(self, conn: AmqpConnection, number: int) -> None:
        self.conn = conn
        self.number = number
        self.broker = conn.broker
        self.vhost = conn.vhost
        self.closing = False
        # Basic.Cancel frames held back while this channel's own Queue.Delete runs:
        # RabbitMQ sends them after the DeleteOk (py-amqp raises on a cancel before it)
        self.held_cancels: list[Any] | None = None
        self.consumers: dict[str, Consumer] = {}
        self.prefetch = 0
        self.global_prefetch = 0
        self.unacked: dict[int, Delivery] = {}
        self.next_tag = 1
        self.confirm = False
        self.pub_seq = 0
        self.confirms: deque[list[Any]] = deque()
        self.tx = False
        self.tx_ops: list[tuple[Any, ...]] = []
        self.flow = True
        self.leased: dict[int, Any] = {}  # id(queue) -> queue with messages leased here
        self.pending = 0  # publishes routed but not finished
        self.reply_token: str | None = None
        self.last_queue = ""  # the channel's last declared queue (empty names refer to it)
        self._ctag_seq = 0

    # -- output -----------------------------------------------------------------------
    def send_method(self, method: Any) -> None:
        if not self.closing:
            self.conn.send_method(self.number, method)

    def new_consumer_tag(self) -> str:
        self._ctag_seq += 1
        return f"amq.ctag-{id(self):x}.{self._ctag_seq}"

    # -- deliveries -------------------------------------------------------------------
    def deliver(self, consumer: Consumer, queue: AmqpQueue, msgs: list[Any]) -> None:
        """Write Basic.Deliver frames for `msgs` in one writelines; track unacked."""
        out: list[bytes] = []
        no_ack = consumer.no_ack
        tag = self.next_tag
        qrec = consumer.qrec
        enc = consumer.encoder
        quorum = qrec is not None and qrec.kind == "quorum"
        if enc is None:
            enc = consumer.encoder = DeliverEncoder(self.number, consumer.tag, self.conn.frame_max)
        add = enc.add
        for m in msgs:
            meta = m.meta
            raw = meta.get(META_PROPS)
            props = raw_properties_for(m) if raw is None else raw
            if quorum:  # RabbitMQ sets it on every quorum-queue delivery (0 the first time)
                props = with_header(props, "x-delivery-count", m.receive_count - 1)
            add(out, tag, m.receive_count > 1, meta.get(META_EXCHANGE), m.routing_key, props, m.body)
            if no_ack:
                queue.delete(m.receipt)
            else:
                self.unacked[tag] = Delivery(tag, consumer, queue, m, qrec)
            tag += 1
        if not no_ack:
            consumer.unacked += tag - self.next_tag
            self.leased[id(queue)] = queue
            if qrec is not None and len(qrec.consumers) > 1 and consumer.credit() <= 0:
                for other in qrec.consumers.values():  # lower priorities may run now
                    if other.priority < consumer.priority:
                        other.poke()
        self.next_tag = tag
        self.conn.send(b"".join(out))

    def _settle(self, tag: int, multiple: bool) -> list[Delivery]:
        unacked = self.unacked
        if multiple:
            tags = []
            for t in unacked:
                if tag and t > tag:
                    break
                tags.append(t)
            if not tags and tag:
                raise E.unknown_delivery_tag(tag)
            return [unacked.pop(t) for t in tags]
        d = unacked.pop(tag, None)
        if d is None:
            raise E.unknown_delivery_tag(tag)
        return [d]

    def _released(self, settled: list[Delivery]) -> None:
        pokes: set[Consumer] = set()
        for d in settled:
            c = d.consumer
            if c is not None:
                c.unacked -= 1
                if c.blocked:
                    pokes.add(c)
        if self.global_prefetch:
            pokes.update(c for c in self.consumers.values() if c.blocked)
        for c in pokes:
            c.poke()

    def ack(self, tag: int, multiple: bool) -> None:
        """Basic.Ack from the consumer: delete the settled messages from their queues."""
        settled = self._settle(tag, multiple)
        acks = self.conn.acks  # deleted in one batch per queue when this read is done
        for d in settled:
            lst = acks.get(d.queue)
            if lst is None:
                acks[d.queue] = [d.receipt]
            else:
                lst.append(d.receipt)
        self._released(settled)

    def nack(self, tag: int, multiple: bool, requeue: bool) -> None:
        """Basic.Nack / Basic.Reject: requeue at the original position, or dead-letter."""
        d0 = self.unacked.get(tag)
        if d0 is not None and getattr(d0.queue, "kind", "") == "stream":
            raise cast("StreamQueue", d0.queue).not_supported("basic.nack and basic.reject")
        settled = self._settle(tag, multiple)
        if requeue:
            self._return(settled)
        else:
            for d in settled:  # core dead-letters (reason 'rejected') or drops
                eager.start(cast(Queue, d.queue).reject(d.receipt), _ignore)  # not a stream's: refused above
        self._released(settled)

    def recover(self) -> None:
        """Basic.Recover: requeue every unacked message of this channel."""
        settled = list(self.unacked.values())
        self.unacked.clear()
        self._return(settled)
        self._released(settled)

    def _return(self, settled: list[Delivery]) -> None:
        """Requeue at the original positions; a quorum queue's message returned more
        often than its `x-delivery-limit` is dead-lettered instead ('delivery_limit')."""
        for d in reversed(settled):
            if _over_limit(d):
                eager.start(cast(Queue, d.queue).reject(d.receipt, "delivery_limit"), _ignore)  # quorum only
                continue
            try:
                d.queue.release(d.receipt)
            except MqliteError:
                pass  # the queue was deleted meanwhile

    # -- publisher confirms -----------------------------------------------------------
    def confirm_done(self, entry: list[Any], ok: bool) -> None:
        entry[1] = ok
        confirms = self.confirms
        if confirms[0] is not entry:
            return
        out: list[bytes] = []
        last_ack = 0
        while confirms and confirms[0][1] is not None:
            seq, state = confirms.popleft()
            if state:
                last_ack = seq
            else:
                if last_ack:
                    out.append(basic_ack_frame(self.number, last_ack, True))
                    last_ack = 0
                out.append(basic_nack_frame(self.number, seq, False))
        if last_ack:
            out.append(basic_ack_frame(self.number, last_ack, True))
        if out and not self.closing:
            self.conn.send_many(out)

    # -- consumers --------------------------------------------------------------------
    def remove_consumer(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.tag, None)
        consumer.stop()
        if consumer.qrec is not None:
            self.broker.consumer_removed(consumer.qrec, consumer)
            for other in consumer.qrec.consumers.values():  # single-active, priorities
                other.poke()
        elif self.reply_token:
            self.broker.reply_to.pop(self.reply_token, None)
            self.reply_token = None

    def server_cancel(self, consumer: Consumer) -> None:
        """The queue went away: Basic.Cancel to a client that said consumer_cancel_notify."""
        self.remove_consumer(consumer)
        if self.conn.capabilities.get("consumer_cancel_notify") and not self.closing:
            cancel = commands.Basic.Cancel(consumer_tag=consumer.tag, nowait=True)
            if self.held_cancels is not None:
                self.held_cancels.append(cancel)
            else:
                self.send_method(cancel)

    # -- close ------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Stop consumers and requeue everything unacked (channel closed or connection gone)."""
        self.closing = True
        for consumer in list(self.consumers.values()):
            self.remove_consumer(consumer)
        if self.reply_token:
            self.broker.reply_to.pop(self.reply_token, None)
        for d in self.unacked.values():  # returned by the close: poison messages go
            if _over_limit(d):
                eager.start(cast(Queue, d.queue).reject(d.receipt, "delivery_limit"), _ignore)  # quorum only
        self.unacked.clear()
        for queue in self.leased.values():
            try:
                queue.release_owner(self)
            except MqliteError:
                pass  # the queue was deleted meanwhile
        self.leased.clear()
        self.tx_ops.clear()
