"""Expiry: when messages leave a queue undelivered (TTL, retention) and the hook that
sends them on (dead-letter or drop, `deadletter.py`).

Owns the queue's timer pass (`tick`: due visibility and delay expiries, long-poller
wake-ups, the journal flush) and head expiry (`expire_heads`): RabbitMQ expires
messages when they reach the head, so only the head (or the oldest live message, for
retention) is ever looked at. `_dispose` is the one door through which every
undelivered departure goes (expired, retention, maxlen, rejected, redrive).

Invariants: a message being disposed of is in `_moving` until its destination took it
and is only then marked done (a crash may duplicate it, never lose it); at most one
`expire_heads` task runs per queue (`_expiring`); "nothing is due" is cheap: the
oldest message's age limit is remembered per low-water mark (`_age_check`) and the
head is looked at for per-message TTLs only once the earliest known expiry
(`_ttl_due`) has passed.
Concurrency: core's event loop only. `tick` is a plain method that may start the
`expire_heads` task on the running loop; `expire_heads`/`_dispose` are async (a
dead-letter move awaits the target's append and durability).
"""

from __future__ import annotations

import asyncio
import logging

from mqlite.core.queue import deadletter
from mqlite.core.queue.records import Stored
from mqlite.core.queue.state import NEVER, QueueState

log = logging.getLogger("mqlite.queue")


class Expiry(QueueState):
    """TTL/retention expiry at the head and the dead-letter door (`_dispose`)."""

    def tick(self) -> None:
        """Apply due visibility/delay expiries and wake long-pollers; expire TTL heads."""
        if self.deleted:
            return
        now = self.clock.now_ms()
        self._advance(now)
        self._journal_flush()
        if self._expiring is None and self._has_dead_letter_work(now):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._expiring = loop.create_task(self.expire_heads())
            self._expiring.add_done_callback(self._expired_done)

    def _expired_done(self, task: asyncio.Task[int]) -> None:
        self._expiring = None
        if not task.cancelled() and task.exception() is not None:
            log.error("expiring messages of queue %r failed", self.name,
                      exc_info=task.exception())

    def _has_dead_letter_work(self, now: int) -> bool:
        """Is the head (or the oldest live message) past its retention or TTL? Cheap
        when nothing is due: the oldest message's age limit is remembered per low-water
        mark, and the head is looked at for per-message TTLs only once the earliest
        known expiry has passed (and again after the head changed)."""
        head = self._peek
        if head is not None and self._expiry_reason(head, now) is not None:
            return True
        if self._ttl_due <= now and self._head_expired(now):
            return True
        lwm = self._lwm
        if lwm < self._log.end_offset and lwm not in self._leases and not self._moving:
            seen_lwm, due = self._age_check
            if seen_lwm == lwm and now < due:
                return False
            oldest = self._read_one(lwm)
            if oldest is None:
                return False
            if self._expiry_reason(oldest, now) is not None:
                return True
            ttl = self.config.message_ttl_ms
            limit = self.config.retention_ms
            if ttl is not None:
                limit = min(limit, ttl)
            due = oldest.timestamp + limit
            if oldest.expire_at:
                due = min(due, oldest.expire_at)
            self._age_check = (lwm, due)
        return False

    def _head_expired(self, now: int) -> bool:
        """Look at the head for a passed per-message TTL; otherwise note when to look
        again (its own expiry, or when the head changes)."""
        if self._log.end_offset - self._lwm - len(self._done) <= 0:
            self._ttl_floor = self._ttl_due = NEVER  # empty: nothing can expire
            return False
        head = self._head(now)
        if head is None:  # all leased or delayed: look again once the head changes
            self._ttl_due = NEVER
            return False
        self._unpop(head)
        if self._expiry_reason(head, now) is not None:
            return True
        cfg = self.config  # the head's own expiry: per-message, queue TTL, retention
        due = head.timestamp + cfg.retention_ms
        if head.expire_at:
            due = min(due, head.expire_at)
        if cfg.message_ttl_ms is not None:
            due = min(due, head.timestamp + cfg.message_ttl_ms)
        self._ttl_due = due
        return False

    async def expire_heads(self) -> int:
        """Dead-letter/drop expired messages at the head of the queue (RabbitMQ expires
        messages when they reach the head). Returns how many went."""
        n = 0
        now = self.clock.now_ms()
        while not self.deleted:
            head = self._head(now)
            if head is None:
                break
            reason = self._expiry_reason(head, now)
            if reason is None:
                self._unpop(head)
                break
            await self._dispose(head, reason)
            n += 1
        return n

    async def _dispose(self, st: Stored, reason: str) -> bool:
        return await deadletter.dispose(self, st, reason)
