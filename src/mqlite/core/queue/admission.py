"""Admission: the send path of a queue (send, send_envelope, send_batch).

Owns validating and shaping an envelope into a `Stored` record (`_prepare`: size,
delay, FIFO group/dedup ids, priority, TTL, meta), the length limits with their
overflow policy (reject-publish refuses; drop-head disposes of the oldest with reason
'maxlen'), FIFO deduplication of sends within the window, the append to the queue's
log in chunks of at most `APPEND_CHUNK_BYTES`, and accounting for what was appended
(`_admit`: live bytes, TTL bounds, dedup window, read-ahead buffer or ready/delayed
placement).

Invariants: the queue is its log's only writer, so offsets are assigned before the
append and equal the log's (asserted); a batch entry's failure is its own result and
never fails the others; a FIFO duplicate (same group+dedup id within the window, or
earlier in the same batch) is answered with the first send's id and sequence number
and appends nothing; results are returned only after the append is durable under the
configured fsync policy. A plain body on a standard queue takes a fast path that
builds its record without an Envelope.
Concurrency: core's event loop only; `send*` are async (they await durability and,
with drop-head, disposals); everything up to the append runs without awaiting, so
sends of one queue never interleave their offsets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from concurrent.futures import Future
from types import MappingProxyType
from typing import Any

from mqlite.core.errors import CoreError, InvalidValue, LimitExceeded, QueueFull
from mqlite.core.message import Attribute, Envelope
from mqlite.core.queue import config as cfgmod
from mqlite.core.queue.expiry import Expiry
from mqlite.core.queue.records import Stored, attribute_bytes, encode, message_id
from mqlite.core.queue.results import SendResult, _send_result, _wrap
from mqlite.core.queue.state import READ_AHEAD

APPEND_CHUNK_BYTES = 8 * 1024 * 1024
_NO_ATTRS: Mapping[str, Any] = MappingProxyType({})


class Admission(Expiry):
    """The send path: validate, deduplicate, limit, append, account."""

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
        flow = self.flow
        flow.messages_in += 1
        flow.bytes_in += st.size
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
