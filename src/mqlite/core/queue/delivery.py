"""Delivery: the receive path of a queue (receive, with long polling and leases).

Owns taking visible messages off the queue and leasing them: validating the request,
the long-poll wait (a FIFO list of waiter futures woken by `_notify`), FIFO receive
request attempt ids (a retried attempt gets the same messages while their leases are
live, for 5 minutes), and diverting messages found expired or past the redrive
policy's maxReceiveCount to `_dispose` instead of delivering them.

Invariants: a message is delivered only when it is not leased, under exactly one live
lease, and its receive count goes up by one per delivery (journaled as one 'r' entry
per receive call); a FIFO group has at most one batch in flight and is served in
offset order (the group lists read ahead at most FIFO_RAM_CAP messages /
FIFO_RAM_BYTES bytes); without an existing dead-letter queue a message past
maxReceiveCount stays deliverable (SQS keeps it).
Concurrency: core's event loop only; `receive` is async. A waiter that wakes or leaves
(timeout, cancellation) never strands a wake-up: it passes the turn on, and never
leaves a dead future in `_waiters`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from mqlite.core.errors import InvalidValue
from mqlite.core.message import Message
from mqlite.core.queue import config as cfgmod
from mqlite.core.queue import deadletter
from mqlite.core.queue.expiry import Expiry
from mqlite.core.queue.records import Stored
from mqlite.core.queue.state import FIFO_RAM_BYTES, FIFO_RAM_CAP

MAX_RECEIVE = 10_000


class Delivery(Expiry):
    """The receive path: long polls, FIFO attempts, leasing, redrive on receive."""

    async def receive(
        self,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
        *,
        owner: Any = None,
        attempt_id: str | None = None,
    ) -> list[Message]:
        """Up to `max_messages` visible messages, leased for `visibility_timeout` seconds
        (None = the queue's; `math.inf` = until deleted/released, for AMQP consumers).
        Waits up to `wait` seconds for the first message, returning as soon as one is
        visible."""
        self._check_alive()
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or not 1 <= max_messages <= MAX_RECEIVE:
            raise InvalidValue("max_messages", f"max_messages out of range: {max_messages!r}",
                               rule=cfgmod.MAX_MESSAGES_RULE)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 20:
            raise InvalidValue("wait", f"wait must be 0-20 seconds, got {wait!r}", rule=cfgmod.WAIT_RULE)
        vis_ms = self._visibility_ms(visibility_timeout)
        now = self.clock.now_ms()
        self.last_used_ms = now
        if attempt_id is not None and self._fifo:
            prior = self._attempts.get(attempt_id)
            if prior is not None and all(
                (l := self._leases.get(m.offset)) is not None and l.rc == m.receive_count
                for m in prior[1]
            ):
                return list(prior[1])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            out = await self._receive_now(max_messages, vis_ms, owner)
            if out or wait <= 0:
                if out and self._waiters:
                    self._notify(1)  # more may be visible: pass the turn on
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            due = self._next_due()
            if due is not None:
                remaining = min(remaining, max(0.001, (due - self.clock.now_ms()) / 1000))
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._notify(1)  # woken but leaving: pass the wake-up on
                raise
            finally:  # timed out or cancelled: never leave a dead waiter behind
                if not fut.done() or fut.cancelled():
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(fut)
            self._check_alive()
        if attempt_id is not None and self._fifo and out:
            self._attempts[attempt_id] = (self.clock.now_ms() + 5 * 60 * 1000, out)
        return out

    async def _receive_now(self, n: int, vis_ms: int, owner: Any) -> list[Message]:
        while True:  # dead-lettered heads are replaced by the next ones
            now = self.clock.now_ms()
            self._advance(now)
            out: list[Message] = []
            entries: list[list[int]] = []
            disposals: list[tuple[Stored, str]] = []
            self._collect(n, vis_ms, owner, now, out, entries, disposals)
            if entries:
                self._journal_pend(["r", entries])
            if not disposals:
                return out
            progressed = False
            for st, reason in disposals:
                progressed |= await self._dispose(st, reason)
            if out or not progressed:
                return out

    def _collect(
        self, n: int, vis_ms: int, owner: Any, now: int, out: list[Message],
        entries: list[list[int]], disposals: list[tuple[Stored, str]],
    ) -> None:
        redrive = self.config.redrive
        max_rc = 0
        if redrive is not None and deadletter._target_queue(self, redrive.dead_letter_target):
            max_rc = redrive.max_receive_count  # without an existing DLQ, SQS keeps it
        if self._fifo:  # read ahead (bounded) so every available group is seen
            groups = self._groups
            while groups.pending_count < FIFO_RAM_CAP and groups.pending_bytes < FIFO_RAM_BYTES:
                ahead = self._scan_deliverable(now)
                if ahead is None:
                    break
                groups.add(ahead)
        while len(out) < n:
            if self._fifo:
                if not self._groups.has_available():
                    if self._groups.pending_count >= FIFO_RAM_CAP:
                        return
                    st0 = self._scan_deliverable(now)
                    if st0 is None:
                        return
                    self._groups.add(st0)
                    continue
                batch = self._groups.take(n - len(out))
            else:
                one = self._pop_standard(now)
                if one is None:
                    return
                batch = [one]
            for st in batch:
                reason = self._expiry_reason(st, now)
                if reason is None and max_rc and self._counts.get(st.offset, (0, 0))[0] >= max_rc:
                    reason = "redrive"
                if reason is not None:
                    if self._fifo:
                        self._groups.finished(st, requeue=False)
                    self._moving.add(st.offset)
                    disposals.append((st, reason))
                    continue
                out.append(self._lease(st, vis_ms, owner, now, entries))
