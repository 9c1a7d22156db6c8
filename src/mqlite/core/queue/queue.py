"""Queue: a log of messages plus per-message leases (SQS queues and AMQP queues alike).

Owns one queue's message log (one record per message, see `records.py`), its lease
journal (`journal.py`) and the in-memory lease state. State model, by log offset:

    [start .. lwm)        all done (deleted, acked, expired, moved); segments removable
    [lwm .. cursor)       scanned: each offset is done, leased, ready (heap/FIFO group),
                          delayed, being moved, or the one-message `peek`
    [cursor .. end)       not yet scanned: visible unless done/leased/ready/delayed
                          (those sets also hold offsets at or past the cursor)

so a backlog costs no RAM per message: receive scans forward from `cursor` (through a
small read-ahead buffer fed by recent sends); only leased, delayed, requeued,
high-priority and FIFO-pending messages live in RAM.

Invariants: a message is delivered only when not leased (at-least-once, exactly one
live lease); a FIFO group has at most one batch in flight and is served in offset
order; every receipt names (offset, receive count) and only the latest count may
delete (stale receipts are no-ops); `lwm` = the lowest offset not done.
Concurrency: core's event loop only (docs/architecture.md); `send`/`receive` are async
(durability, long polls, dead-letter moves); the rest are plain methods. Expiries
(visibility, delay) are applied lazily on every operation and by `tick()`.

Public API (the contract front-ends code against):

    await send(body, attributes=None, *, delay=None, group_id=None, dedup_id=None,
               priority=None, ttl_ms=None, meta=None, routing_key="") -> SendResult
    await send_envelope(Envelope) -> SendResult
    await send_batch([Envelope | bytes]) -> [SendResult | CoreError]   one append
    await receive(max_messages=1, wait=0.0, visibility_timeout=None, *, owner=None,
                  attempt_id=None) -> [Message]
    delete(receipt) -> Ack            (await it for durability under fsync=always)
    await delete_batch([receipt]) -> [None | CoreError]
    change_visibility(receipt, seconds); change_visibility_batch([(receipt, s)])
    release(receipt)                  requeue at the original position (AMQP requeue)
    release_owner(owner) -> int       requeue all of a closed channel's leases
    await reject(receipt)             AMQP reject/nack requeue=false: dead-letter
    purge(include_in_flight=True) -> Ack (.count); last_purge_ms; counts() -> QueueCounts(visible, in_flight, delayed)
    tick(); await expire_heads()      (the registry ticks every queue)

AMQP consumers (push with a prefetch window) are a loop in the front-end:
`await queue.receive(window_free, wait=20, visibility_timeout=math.inf, owner=channel)`
returns as soon as anything is visible; leases with `math.inf` last until `delete`
(ack), `release` (nack/reject requeue), `reject`, or `release_owner(channel)`, and are
released on restart (their channel is gone), counting as a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
from collections.abc import Mapping
from concurrent.futures import Future
from types import MappingProxyType
from typing import Any

from mqlite.core.errors import (
    CoreError,
    InvalidValue,
    LimitExceeded,
    MessageNotInflight,
    QueueFull,
)
from mqlite.core.message import Attribute, Envelope, Message
from mqlite.core.queue import config as cfgmod
from mqlite.core.queue import deadletter
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.leases import INF, parse_receipt
from mqlite.core.queue.offsets import OffsetSet
from mqlite.core.queue.records import Stored, attribute_bytes, encode, message_id
from mqlite.core.queue.results import (
    _NOOP,
    Ack,
    QueueCounts,
    SendResult,
    _send_result,
    _wrap,
)
from mqlite.core.queue.state import (
    FIFO_RAM_BYTES,
    FIFO_RAM_CAP,
    NEVER,
    READ_AHEAD,
    QueueState,
)

__all__ = ["Ack", "Queue", "QueueCounts", "SendResult"]

log = logging.getLogger("mqlite.queue")

APPEND_CHUNK_BYTES = 8 * 1024 * 1024
_NO_ATTRS: Mapping[str, Any] = MappingProxyType({})
MAX_VISIBILITY_MS = 43_200_000  # 12 h from the receive (SQS ChangeMessageVisibility)
MAX_RECEIVE = 10_000


class Queue(QueueState):
    """One queue: the public API (docs/architecture.md "Queue"); state in QueueState."""

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

    # ================================================================== send
    async def send(
        self,
        body: bytes,
        attributes: Mapping[str, Attribute] | None = None,
        *,
        delay: float | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        priority: int | None = None,
        ttl_ms: int | None = None,
        meta: Mapping[str, bytes] | None = None,
        routing_key: str = "",
    ) -> SendResult:
        env = Envelope(
            body=body, attributes=attributes or {}, meta=meta or {}, routing_key=routing_key,
            group_id=group_id, dedup_id=dedup_id, priority=priority, ttl_ms=ttl_ms, delay=delay,
        )
        return await self.send_envelope(env)

    async def send_envelope(self, envelope: Envelope) -> SendResult:
        result = (await self._send([envelope]))[0]
        if isinstance(result, CoreError):
            raise result
        return result

    async def send_batch(self, entries: list[Envelope | bytes]) -> list[SendResult | CoreError]:
        """Send many as one append; each entry gets its result or its own error. An
        entry may be a plain body (`bytes`), the same as `Envelope(body)` but cheaper."""
        return await self._send(list(entries))  # type: ignore[arg-type]

    async def _send(
        self, envs: list[Envelope], moved: list[Stored] | None = None
    ) -> list[SendResult | CoreError]:
        self._check_alive()
        now = self.clock.now_ms()
        self._advance(now)
        cfg = self.config
        results: list[SendResult | CoreError | None] = [None] * len(envs)
        fresh: list[tuple[int, Stored]] = []
        seen: dict[str, SendResult] = {}
        ready_len = ready_bytes = 0
        limit_len, limit_bytes = cfg.max_length, cfg.max_length_bytes
        rejecting = cfg.overflow != "drop-head" and (limit_len is not None or limit_bytes is not None)
        if rejecting:
            c = self.counts()
            ready_len = c.visible + c.delayed
            ready_bytes = self._live_bytes - self._inflight_bytes
        for i, env in enumerate(envs):
            try:
                st = moved[i] if moved is not None else self._prepare(env, now)
            except CoreError as exc:
                results[i] = exc
                continue
            if st.dedup_id is not None and self._fifo and moved is None:
                key = self._dedup_key(st.group_id, st.dedup_id)
                hit = self._dedup.get(key, now)
                if hit is not None:
                    results[i] = SendResult(hit[0], hit[1], True)
                    continue
                if key in seen:
                    results[i] = SendResult(seen[key].message_id, seen[key].sequence_number, True)
                    continue
            if rejecting and (
                (limit_len is not None and ready_len >= limit_len)
                or (limit_bytes is not None and ready_bytes + st.size > limit_bytes)
            ):
                results[i] = QueueFull(
                    f"queue {self.name!r} is full (overflow {cfg.overflow})",
                    rule="max_length/max_length_bytes with overflow reject-publish",
                )
                continue
            ready_len += 1
            ready_bytes += st.size
            fresh.append((i, st))
            if st.dedup_id is not None and self._fifo:
                expected = self._log.end_offset + len(fresh) - 1
                seen[self._dedup_key(st.group_id, st.dedup_id)] = SendResult(
                    message_id(self._prefix, expected), f"{expected:020d}", True
                )
        durable: list[Future[Any]] = []
        k = 0
        while k < len(fresh):
            chunk = [fresh[k]]
            size = fresh[k][1].size
            k += 1
            while k < len(fresh) and size + fresh[k][1].size <= APPEND_CHUNK_BYTES:
                size += fresh[k][1].size
                chunk.append(fresh[k])
                k += 1
            base = self._log.end_offset
            prefix = self._prefix
            for j, (_, st) in enumerate(chunk):
                st.offset = base + j
                if not st.id:
                    st.id = message_id(prefix, st.offset)
            ar = self._log.append([encode(st) for _, st in chunk], now_ms=now)
            durable.append(ar.durable)
            assert ar.base_offset == base, "queue logs have one writer: their queue"
            for i, st in chunk:
                self._admit(st, now)
                results[i] = _send_result(st.id, f"{st.offset:020d}", False, st.offset)
        if fresh:
            self._notify(len(fresh))
            if cfg.overflow == "drop-head" and (limit_len is not None or limit_bytes is not None):
                await self._drop_head(now)
        for fut in durable:
            w = _wrap(fut)
            if w is not None:
                await w
        return results  # type: ignore[return-value]

    def _prepare(self, entry: Envelope | bytes, now: int) -> Stored:
        cfg = self.config
        if isinstance(entry, bytes):  # a plain message given as its body (send_batch)
            if not self._fifo and not cfg.delay and len(entry) <= cfg.max_message_bytes:
                return Stored(-1, now, "", entry, _NO_ATTRS, _NO_ATTRS, None, None, 0, 0, 0, "")
            env = Envelope(entry)
        else:
            env = entry
        body = env.body
        if (  # fast path: a plain message on a standard queue
            not self._fifo and type(body) is bytes and not env.attributes and not env.meta
            and env.delay is None and not cfg.delay and env.priority is None
            and env.ttl_ms is None and env.group_id is None and env.persistent
            and len(body) <= cfg.max_message_bytes
        ):
            return Stored(-1, now, "", body, _NO_ATTRS, _NO_ATTRS, None, None, 0, 0, 0,
                          env.routing_key or "")
        if not isinstance(body, bytes):
            if isinstance(body, (bytearray, memoryview)):
                body = bytes(body)
            else:
                raise InvalidValue("body", "message body must be bytes", rule="body: bytes")
        attrs = env.attributes or {}
        size = len(body) + (attribute_bytes(attrs) if attrs else 0)
        if size > cfg.max_message_bytes:
            raise LimitExceeded(
                f"message of {size} bytes is larger than the queue's limit of "
                f"{cfg.max_message_bytes} bytes",
                rule=f"max_message_bytes: at most {cfg.max_message_bytes} bytes (body + attributes)",
            )
        delay = env.delay
        if delay is None:
            delay = cfg.delay
        elif self._fifo and delay:
            raise InvalidValue(
                "delay", "per-message delay is not supported on FIFO queues",
                rule="delay: FIFO queues take the queue's delay only",
            )
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 900:
            raise InvalidValue("delay", f"delay must be 0-900 seconds, got {delay!r}",
                               rule=cfgmod.SEND_DELAY_RULE)
        group = env.group_id
        dedup = env.dedup_id
        if self._fifo:
            if not group:
                raise InvalidValue("group_id", "a FIFO queue needs a message group id",
                                   rule="group_id: required for FIFO queues, 1-128 characters")
            if dedup is None:
                if not cfg.content_based_dedup:
                    raise InvalidValue(
                        "dedup_id", "the queue has no content-based deduplication: "
                        "a deduplication id is required",
                        rule="dedup_id: required for FIFO queues without content_based_dedup",
                    )
                dedup = hashlib.sha256(body).hexdigest()
        for label, value in (("group_id", group), ("dedup_id", dedup)):
            if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 128):
                raise InvalidValue(label, f"{label} must be 1-128 characters",
                                   rule=f"{label}: 1-128 characters")
        priority = env.priority or 0
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
            raise InvalidValue("priority", f"priority must be 0-255, got {priority!r}",
                               rule=cfgmod.PRIORITY_RULE)
        priority = min(priority, cfg.max_priority)
        ttl = env.ttl_ms
        expire_at = 0
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= cfgmod.TTL_MAX:
                raise InvalidValue("ttl_ms", f"ttl_ms out of range: {ttl!r}", rule=cfgmod.TTL_RULE)
            expire_at = now + ttl if ttl else now  # 0 = expire unless delivered at once
        meta = env.meta or {}
        for mkey, mvalue in meta.items():
            if not isinstance(mkey, str) or not isinstance(mvalue, (bytes, bytearray)):
                raise InvalidValue("meta", "meta must map str to bytes", rule="meta: str -> bytes")
        st = Stored(
            -1, now, "", body, attrs, meta, group,
            dedup if self._fifo else None, priority, now + int(delay * 1000) if delay else 0,
            expire_at, env.routing_key or "",
        )
        st.size = size
        if not env.persistent:
            st.transient = True
        return st

    def _admit(self, st: Stored, now: int) -> None:
        """Account for a message just appended at `st.offset`."""
        self._live_bytes += st.size
        if st.transient and self._transient_from < 0:
            self._transient_from = st.offset  # recovery scans from here for transient ones
            self._journal_write(["n", st.offset])
        expire = st.expire_at
        ttl = self.config.message_ttl_ms
        if ttl is not None and (not expire or st.timestamp + ttl < expire):
            expire = st.timestamp + ttl
        if expire:
            self._ttl_floor = min(self._ttl_floor, expire)
            self._ttl_due = min(self._ttl_due, expire)
        if st.dedup_id is not None and self._fifo:
            self._dedup.put(self._dedup_key(st.group_id, st.dedup_id), now, st.id,
                            f"{st.offset:020d}")
        if st.visible_at > now or (st.priority and not self._fifo):
            self._classify(st, now)
            return
        buf = self._buf
        contiguous = (buf and buf[-1].offset == st.offset - 1) or (
            not buf and self._cursor == st.offset
        )
        if contiguous and len(buf) < 4 * READ_AHEAD:
            buf.append(st)

    async def _drop_head(self, now: int) -> None:
        cfg = self.config
        while True:
            c = self.counts()
            ready = c.visible + c.delayed
            over = (cfg.max_length is not None and ready > cfg.max_length) or (
                cfg.max_length_bytes is not None
                and self._live_bytes - self._inflight_bytes > cfg.max_length_bytes
            )
            if not over:
                return
            head = self._head(now)
            if head is None:
                return
            await self._dispose(head, "maxlen")

    # ================================================================== receive
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

    # ================================================================== acks
    def _lookup(self, receipt: str) -> tuple[int, int]:
        self._check_alive()
        return parse_receipt(self._token, receipt, self._log.end_offset)

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
        return True

    def change_visibility(self, receipt: str, seconds: float) -> None:
        """Set a leased message's remaining visibility timeout (0 = visible now)."""
        off, rc = self._lookup(receipt)
        ms = self._visibility_ms(seconds)
        now = self.clock.now_ms()
        self._advance(now)
        lease = self._leases.get(off)
        if lease is None or lease.rc != rc:
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
            heapq.heappush(self._lease_heap, (lease.until, off, rc))
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
        off, rc = self._lookup(receipt)
        lease = self._leases.get(off)
        if lease is None or lease.rc != rc:
            return
        self._end_lease(lease, requeue=True)
        self._journal_pend(["v", [[off, 0]]])
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

    async def reject(self, receipt: str) -> None:
        """Negative acknowledgement without requeue (AMQP basic.reject/nack
        requeue=false): dead-letter with reason 'rejected', or drop."""
        off, rc = self._lookup(receipt)
        lease = self._leases.get(off)
        if lease is None or lease.rc != rc:
            return
        self._end_lease(lease, requeue=False)
        self._moving.add(off)
        await self._dispose(lease.stored, "rejected")

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
        runs: list[tuple[int, int]] = []
        for i, off in enumerate(kept):
            nxt = kept[i + 1] if i + 1 < len(kept) else end
            if off + 1 < nxt:
                runs.append((off + 1, nxt))
        self._lwm = kept[0] if kept else end
        self._cursor = end
        self._done = OffsetSet(runs)
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

    # ================================================================== dead letters
    async def _dispose(self, st: Stored, reason: str) -> bool:
        return await deadletter.dispose(self, st, reason)

    # ================================================================== lifecycle
    async def flush(self) -> None:
        if not self.deleted:
            self._journal_flush()
        self._log.flush()
        self._journal.log.flush()

    def close(self) -> None:
        """Wake long-pollers; the registry closes the logs (LogFactory owns them)."""
        self._notify()
        if self._expiring is not None:
            self._expiring.cancel()
        for task in self.move_tasks:
            task.cancel()

    def mark_deleted(self) -> None:
        self.deleted = True
        self.close()

    def set_config(self, config: QueueConfig) -> None:
        if config.fifo != self.config.fifo:
            raise InvalidValue("fifo", "a queue cannot change between FIFO and standard",
                               rule="fifo: fixed at creation")
        self.config = config
        self._age_check = (-1, 0)  # age limits may have changed: look again
        self._ttl_floor = self._ttl_due = 0
        self._notify()
