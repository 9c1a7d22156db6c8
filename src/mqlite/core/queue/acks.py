"""Acks: settling leased messages by receipt (delete, change visibility, release,
reject) and purge.

Owns what a consumer may do with a receipt handle: delete it (SQS DeleteMessage /
AMQP ack), change its visibility (SQS ChangeMessageVisibility; 0 makes it visible
now), release it to its original position (AMQP nack/reject with requeue, or every
lease of a closed channel), reject it (AMQP nack/reject without requeue: dead-letter
'rejected' or drop), and purge the queue (SQS PurgeQueue with in-flight messages,
AMQP queue.purge without).

Invariants: a receipt names (offset, receive count) and only the latest count settles
the message: a stale receipt is a successful no-op for delete/release/reject; for
change_visibility any receipt of a message that is in flight (under a later delivery
too: SQS allows it) changes that delivery's timeout, and a message not in flight is
MessageNotInflight; a receipt never issued raises
InvalidReceipt; a delete of a message whose visibility ran out still deletes it unless
it was received again since (SQS); the total visibility may not exceed 12 hours from
the receive (MAX_VISIBILITY_MS); every settlement is journaled ('d', 'v', 'p'/'P')
before the caller may rely on it (await the returned Ack under fsync=always).
Concurrency: core's event loop only; all are plain methods except `delete_batch` and
`reject` (they await the journal / the disposal).
"""

from __future__ import annotations

import heapq
from typing import Any

from mqlite.core.errors import CoreError, InvalidValue, MessageNotInflight
from mqlite.core.queue.expiry import Expiry
from mqlite.core.queue.leases import INF, Lease, parse_receipt
from mqlite.core.queue.offsets import OffsetSet
from mqlite.core.queue.results import _NOOP, Ack

MAX_VISIBILITY_MS = 43_200_000  # 12 h from the receive (SQS ChangeMessageVisibility)


class Acks(Expiry):
    """Settling leases by receipt, and purge."""

    def _lookup(self, receipt: str) -> tuple[int, int]:
        self._check_alive()
        return parse_receipt(self._token, receipt, self._log.end_offset)

    def _live_lease(self, receipt: str) -> Lease | None:
        """The lease `receipt` names if it is the live one, else None (stale/settled)."""
        off, rc = self._lookup(receipt)
        lease = self._leases.get(off)
        if lease is None or lease.rc != rc:
            return None
        return lease

    def delete(self, receipt: str) -> Ack:
        """Delete the message behind `receipt` (SQS DeleteMessage / AMQP ack). A stale
        receipt (the message was received again since) or an already deleted message
        is a successful no-op; a receipt never issued raises InvalidReceipt. Await the
        returned Ack to have the delete durable (fsync=always) before replying."""
        off, rc = self._lookup(receipt)
        now = self.clock.now_ms()
        self._advance(now)
        if not self._delete_one(off, rc):
            return _NOOP
        self._journal_pend(["d", [off]])
        return Ack(None, self._journal_flush)

    async def delete_batch(self, receipts: list[str]) -> list[CoreError | None]:
        """Delete many; one journal write; each entry gets None or its own error."""
        self._check_alive()
        self._advance(self.clock.now_ms())
        results: list[CoreError | None] = []
        done: list[int] = []
        token, end = self._token, self._log.end_offset
        delete_one = self._delete_one
        for receipt in receipts:
            try:
                off, rc = parse_receipt(token, receipt, end)
            except CoreError as exc:
                results.append(exc)
                continue
            if delete_one(off, rc):
                done.append(off)
            results.append(None)
        if done:
            await Ack(self._journal_write(["d", done]))
        return results

    def _delete_one(self, off: int, rc: int) -> bool:
        lease = self._leases.get(off)
        if lease is not None:
            if lease.rc != rc:
                return False  # stale receipt: never deletes the newer delivery
            self._end_lease(lease, requeue=False)
            self._mark_done(lease.stored)
            self.flow.acked += 1
            return True
        # Not in flight: its visibility ran out. The receipt still deletes it unless the
        # message was received again since (SQS).
        counted = self._counts.get(off)
        if counted is None or counted[0] != rc or off in self._done or off < self._lwm:
            return False
        if off in self._ready_set:
            self._ready_set.discard(off)
            st = next((s for _, o, s in self._ready if o == off), None)
        elif self._fifo and self._groups.holds(off):
            st = self._groups.find(off)
            if st is not None:
                self._groups.remove(st)
        elif self._peek is not None and self._peek.offset == off:
            st, self._peek = self._peek, None
        else:  # not scanned since a restart: the scan will skip it once it is done
            st = self._read_one(off)
        if st is None:
            return False
        self._mark_done(st)
        self.flow.acked += 1
        return True

    def change_visibility(self, receipt: str, seconds: float) -> None:
        """Set a leased message's remaining visibility timeout (0 = visible now)."""
        off, rc = self._lookup(receipt)
        ms = self._visibility_ms(seconds)
        now = self.clock.now_ms()
        self._advance(now)
        lease = self._leases.get(off)
        if lease is None or lease.rc < rc:
            raise MessageNotInflight(
                "the message is not in flight under this receipt handle",
                rule="change_visibility: the message must be in flight",
            )
        if ms != INF and now + ms > lease.received_ms + MAX_VISIBILITY_MS:
            raise InvalidValue(
                "visibility_timeout",
                "the total visibility timeout may not exceed 12 hours from the receive",
                rule="visibility_timeout: at most 12 hours after the receive",
            )
        if ms == 0:
            self._end_lease(lease, requeue=True)
            self._journal_pend(["v", [[off, 0]]])
            self._notify(1)
            return
        lease.until = INF if ms == INF else now + ms
        if lease.until != INF:
            heapq.heappush(self._lease_heap, (lease.until, off, lease.rc))
        self._journal_pend(["v", [[off, lease.until]]])

    def change_visibility_batch(self, items: list[tuple[str, float]]) -> list[CoreError | None]:
        results: list[CoreError | None] = []
        for receipt, seconds in items:
            try:
                self.change_visibility(receipt, seconds)
                results.append(None)
            except CoreError as exc:
                results.append(exc)
        return results

    def release(self, receipt: str) -> None:
        """Requeue a leased message at its original position (AMQP nack/reject with
        requeue). Stale or unknown-to-flight receipts are no-ops."""
        lease = self._live_lease(receipt)
        if lease is None:
            return
        self._end_lease(lease, requeue=True)
        self._journal_pend(["v", [[lease.offset, 0]]])
        self._notify(1)

    def release_owner(self, owner: Any) -> int:
        """Requeue every message leased by `owner` (a closed AMQP channel)."""
        offs = self._owners.get(owner)
        if not offs:
            return 0
        released = []
        for off in sorted(offs):
            lease = self._leases.get(off)
            if lease is not None:
                released.append(lease)
        for lease in released:
            self._end_lease(lease, requeue=True)
        self._owners.pop(owner, None)
        if released and not self.deleted:
            self._journal_pend(["v", [[l.offset, 0] for l in released]])
            self._notify(len(released))
        return len(released)

    async def reject(self, receipt: str, reason: str = "rejected") -> None:
        """Negative acknowledgement without requeue (AMQP basic.reject/nack
        requeue=false): dead-letter with `reason` ('rejected'; 'delivery_limit' for a
        quorum queue's poison message), or drop."""
        lease = self._live_lease(receipt)
        if lease is None:
            return
        self._end_lease(lease, requeue=False)
        self._moving.add(lease.offset)
        await self._dispose(lease.stored, reason)

    def purge(self, include_in_flight: bool = True) -> Ack:
        """Delete every message that is not leased, and the leased ones too when
        `include_in_flight` (SQS PurgeQueue "deletes all messages in a queue", in flight
        included). AMQP queue.purge passes False: RabbitMQ "removes all messages that
        are not awaiting acknowledgment"; unacked ones stay and may be requeued. The
        Ack's `count` is how many messages were removed."""
        self._check_alive()
        self._advance(self.clock.now_ms())
        end = self._log.end_offset
        live = end - self._lwm - len(self._done)
        moving = sum(1 for o in self._moving if o >= self._lwm and o not in self._done)
        kept = [] if include_in_flight else sorted(self._leases)
        self._lwm = kept[0] if kept else end
        self._cursor = end
        self._done = OffsetSet.between(kept, end)
        self._counts = {o: self._counts[o] for o in kept if o in self._counts}
        self._delayed.clear()
        self._delay_heap.clear()
        self._ready.clear()
        self._ready_set.clear()
        self._groups.clear()
        self._buf.clear()
        self._peek = None
        if include_in_flight:
            self._leases.clear()
            self._lease_heap.clear()
            self._owners.clear()
            self._inflight_bytes = 0
        elif self._fifo:
            for lease in self._leases.values():
                self._groups.leased(lease.stored)
        self._live_bytes = self._inflight_bytes
        self.last_purge_ms = self.clock.now_ms()
        fut = self._journal_write(["p", end] if not kept else ["P", [end, kept]])
        self._trim()
        return Ack(fut, None, max(0, live - len(kept) - moving))
