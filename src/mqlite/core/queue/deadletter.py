"""Dead letters: how a message leaves a queue without being delivered.

Reasons: 'redrive' (SQS: receive count exceeded maxReceiveCount -> the RedrivePolicy's
dead-letter queue, keeping message id, body, attributes and sent timestamp; without an
existing DLQ the message stays), 'expired' / 'maxlen' / 'rejected' / 'delivery_limit'
(RabbitMQ dead-lettering; the last for a quorum queue's poison message -> `core.get_router(dead_letter_exchange).publish(Envelope)` with
routing key `dead_letter_routing_key` or the original one; without a DLX but with an
SQS RedrivePolicy, moved to the redrive DLQ; with neither, dropped), and 'retention'
(dropped).

x-death facts for the AMQP front-end travel in the envelope's meta (the front-end
formats RabbitMQ's `x-death` header from them and from any earlier meta it stored):
`dlx.reason` (b"expired"|b"maxlen"|b"rejected"|b"delivery_limit"), `dlx.queue` (source queue name),
`dlx.time_ms` (when), `dlx.routing_key` (the original routing key), and
`dlx.expiration_ms` (the per-message TTL, when one was set).

The message is marked done (journaled) only after the destination took it: a crash in
between may duplicate it, never lose it. Concurrency: core's event loop only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mqlite.core.errors import CoreError
from mqlite.core.message import Envelope
from mqlite.core.queue.records import Stored
from mqlite.core.queue.results import SendResult, _wrap

if TYPE_CHECKING:
    from mqlite.core.queue.queue import Queue
    from mqlite.core.queue.state import QueueState

AMQP_REASONS = ("expired", "maxlen", "rejected", "delivery_limit")  # RabbitMQ's x-death reasons


async def dispose(self: QueueState, st: Stored, reason: str) -> bool:
    """Finish a message that leaves the queue without delivery: 'redrive' (SQS DLQ),
    'expired'/'maxlen'/'rejected'/'delivery_limit' (AMQP dead-lettering), 'retention' (drop)."""
    self._moving.add(st.offset)
    self._full(st)
    try:
        if reason == "redrive" or _redrives_amqp_reason(self, reason):
            target_name = self.config.redrive.dead_letter_target if self.config.redrive else None
            target = _target_queue(self, target_name)
            result: SendResult | CoreError | None = None
            if target is not None:
                try:
                    receives = self._counts.get(st.offset, (0, 0))[0]
                    moved = copy_for_move(st, self.name, receives)
                    result = (await target._send([Envelope(st.body)], moved=[moved]))[0]
                except CoreError:  # the DLQ was deleted meanwhile
                    result = None
            if not isinstance(result, SendResult) and reason == "redrive":
                # no DLQ, or it refused: the message stays here (SQS keeps it too)
                self._moving.discard(st.offset)
                self._unpop(st)
                return False
            # an AMQP reason whose DLQ is gone drops the message, as a missing DLX does
        elif reason in AMQP_REASONS:
            await _dead_letter_amqp(self, st, reason)
    finally:
        self._moving.discard(st.offset)
    if not self.deleted and st.offset >= self._lwm and st.offset not in self._done:
        if reason == "redrive" or _redrives_amqp_reason(self, reason) or (
                reason != "retention" and self.config.dead_letter_exchange is not None):
            self.flow.dead_lettered += 1
        elif reason in ("expired", "retention"):
            self.flow.expired += 1
        self._mark_done(st)
        fut = self._journal_write(["d", [st.offset]])
        w = _wrap(fut)
        if w is not None:
            await w
    return True

def _redrives_amqp_reason(self: QueueState, reason: str) -> bool:
    """An AMQP dead-letter reason on a queue with an SQS RedrivePolicy and no DLX goes to
    the redrive DLQ (the queue is shared by both protocols; dropping would lose it)."""
    return (
        reason in AMQP_REASONS
        and self.config.dead_letter_exchange is None
        and self.config.redrive is not None
    )


def _target_queue(self: QueueState, name: str | None) -> Queue | None:
    if not name or self.resolve_queue is None:
        return None
    try:
        queue: Queue = self.resolve_queue(name)
        return queue
    except CoreError:
        return None

async def _dead_letter_amqp(self: QueueState, st: Stored, reason: str) -> None:
    dlx = self.config.dead_letter_exchange
    if dlx is None or self.resolve_router is None:
        return
    try:
        router = self.resolve_router(dlx)
    except CoreError:
        return  # RabbitMQ drops silently when the DLX does not exist
    meta = dict(st.meta)
    meta["dlx.reason"] = reason.encode()
    meta["dlx.queue"] = self.name.encode()
    meta["dlx.time_ms"] = str(self.clock.now_ms()).encode()
    meta["dlx.routing_key"] = st.routing_key.encode()
    if st.expire_at:
        meta["dlx.expiration_ms"] = str(max(0, st.expire_at - st.timestamp)).encode()
    env = Envelope(
        body=st.body, attributes=st.attributes, meta=meta,
        routing_key=self.config.dead_letter_routing_key or st.routing_key,
        priority=st.priority or None, persistent=not st.transient,
    )
    await router.publish(env)


def copy_for_move(st: Stored, source: str, receives: int = 0) -> Stored:
    """The same message (id, body, attributes, sent timestamp) for another queue, which
    remembers the source and the `receives` it had there (SQS's ApproximateReceiveCount
    counts "across all queues")."""
    moved = Stored(
        -1, st.timestamp, st.id, st.body, st.attributes, st.meta, st.group_id, st.dedup_id,
        st.priority, 0, st.expire_at, st.routing_key, st.source or source,
    )
    moved.size = st.size
    moved.own_id = True
    moved.transient = st.transient
    moved.prior_receives = st.prior_receives + receives
    return moved
