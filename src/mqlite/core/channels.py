"""Channels: live publish/subscribe with Redis Pub/Sub semantics, and no storage.

Owns, per subscriber, its channel, pattern and shard-channel subscriptions, and the
reverse maps channel -> subscribers, pattern -> subscribers, shard channel ->
subscribers. Names are bytes (str is encoded as UTF-8); Redis channels are binary-safe.

The Subscriber interface (what a front-end plugs in; the RESP server's connection, the
router's channel destinations, `BufferedSubscriber` for embedded use and tests):

    class Subscriber(Protocol):
        def deliver(self, kind: str, channel: bytes, payload: bytes,
                    pattern: bytes | None) -> bool: ...
        def cut_off(self, reason: str) -> None: ...

`deliver` is called synchronously from `publish`, with kind "message" (pattern None),
"pmessage" (the matching pattern) or "smessage" (a shard channel). It must not block:
it queues the bytes (a transport write, a deque append) and returns False when the
subscriber's output buffer is over its limit (an exception counts as False). Channels then removes every subscription
of that subscriber and calls `cut_off(reason)` once (the RESP front-end closes the
connection, as Redis does when `client-output-buffer-limit pubsub` is exceeded). So a
slow subscriber never slows the publisher or the other subscribers.

Semantics (Redis docs "Pub/Sub" and PUBSUB): `publish` returns the number of receivers:
one per subscriber of the channel, plus one per (subscriber, pattern) pair whose glob
matches (a client subscribed to two matching patterns receives the message twice).
subscribe/unsubscribe replies carry the subscriber's total count of channels + patterns;
shard subscriptions are counted separately (SSUBSCRIBE replies). PUBSUB CHANNELS lists
channels with at least one subscriber (patterns not included), NUMSUB counts channel
subscribers only, NUMPAT counts distinct patterns.

Invariants: a subscriber appears in a reverse map iff the name is in its own sets; empty
entries are removed; a cut-off subscriber has no subscriptions left.
Concurrency: core's single event loop; every method is synchronous and non-blocking.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from mqlite.core.clock import Clock
from mqlite.core.matchers.glob import compile_glob

log = logging.getLogger("mqlite.core.channels")

#: Redis's default `client-output-buffer-limit pubsub 32mb 8mb 60`.
DEFAULT_HARD_LIMIT = 32 * 1024 * 1024
DEFAULT_SOFT_LIMIT = 8 * 1024 * 1024
DEFAULT_SOFT_SECONDS = 60.0

CUT_OFF_REASON = "pubsub output buffer limit exceeded (subscriber cannot keep up)"

Name = bytes | str


@runtime_checkable
class Subscriber(Protocol):
    """See the module docstring."""

    def deliver(self, kind: str, channel: bytes, payload: bytes, pattern: bytes | None) -> bool:
        ...

    def cut_off(self, reason: str) -> None:
        ...


def _safe_deliver(
    s: Subscriber, kind: str, ch: bytes, payload: bytes, pattern: bytes | None
) -> bool:
    try:
        return s.deliver(kind, ch, payload, pattern)
    except Exception:
        log.exception("channels: subscriber %r failed", s)
        return False


def _b(name: Name) -> bytes:
    return name.encode() if isinstance(name, str) else bytes(name)


@dataclass(slots=True)
class _Subs:
    channels: dict[bytes, None] = field(default_factory=dict)
    patterns: dict[bytes, None] = field(default_factory=dict)
    shards: dict[bytes, None] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.channels) + len(self.patterns)


class Channels:
    """Live fan-out; see module docstring."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._subs: dict[Subscriber, _Subs] = {}
        self._channels: dict[bytes, dict[Subscriber, None]] = {}
        self._shards: dict[bytes, dict[Subscriber, None]] = {}
        self._patterns: dict[bytes, dict[Subscriber, None]] = {}
        self._compiled: dict[bytes, object] = {}
        # snapshots for publish (rebuilt lazily after a change)
        self._chan_snap: dict[bytes, tuple[Subscriber, ...]] = {}
        self._shard_snap: dict[bytes, tuple[Subscriber, ...]] = {}
        self._pat_snap: tuple[tuple[bytes, object, tuple[Subscriber, ...]], ...] | None = None
        self.published = 0
        self.delivered = 0
        self.cut_offs = 0

    # -- subscribe / unsubscribe -------------------------------------------------------------
    def _state(self, sub: Subscriber) -> _Subs:
        st = self._subs.get(sub)
        if st is None:
            st = self._subs[sub] = _Subs()
        return st

    def subscribe(self, sub: Subscriber, names: Iterable[Name]) -> list[tuple[bytes, int]]:
        """SUBSCRIBE: per name, (channel, the subscriber's channel+pattern count)."""
        st = self._state(sub)
        out = []
        for n in names:
            ch = _b(n)
            if ch not in st.channels:
                st.channels[ch] = None
                self._channels.setdefault(ch, {})[sub] = None
                self._chan_snap.pop(ch, None)
            out.append((ch, st.count()))
        return out

    def psubscribe(self, sub: Subscriber, patterns: Iterable[Name]) -> list[tuple[bytes, int]]:
        """PSUBSCRIBE: per pattern, (pattern, the subscriber's channel+pattern count)."""
        st = self._state(sub)
        out = []
        for p in patterns:
            pat = _b(p)
            if pat not in st.patterns:
                st.patterns[pat] = None
                if pat not in self._patterns:
                    self._patterns[pat] = {}
                    self._compiled[pat] = compile_glob(pat)
                self._patterns[pat][sub] = None
                self._pat_snap = None
            out.append((pat, st.count()))
        return out

    def ssubscribe(self, sub: Subscriber, names: Iterable[Name]) -> list[tuple[bytes, int]]:
        """SSUBSCRIBE: per shard channel, (channel, the subscriber's shard count)."""
        st = self._state(sub)
        out = []
        for n in names:
            ch = _b(n)
            if ch not in st.shards:
                st.shards[ch] = None
                self._shards.setdefault(ch, {})[sub] = None
                self._shard_snap.pop(ch, None)
            out.append((ch, len(st.shards)))
        return out

    def unsubscribe(
        self, sub: Subscriber, names: Iterable[Name] | None = None
    ) -> list[tuple[bytes, int]]:
        """UNSUBSCRIBE (all channels when `names` is None); [] if there was nothing."""
        st = self._subs.get(sub)
        if st is None:
            return [(_b(n), 0) for n in names] if names is not None else []
        targets = list(st.channels) if names is None else [_b(n) for n in names]
        out = []
        for ch in targets:
            if ch in st.channels:
                del st.channels[ch]
                self._drop(self._channels, self._chan_snap, ch, sub)
            out.append((ch, st.count()))
        self._forget_if_empty(sub, st)
        return out

    def punsubscribe(
        self, sub: Subscriber, patterns: Iterable[Name] | None = None
    ) -> list[tuple[bytes, int]]:
        """PUNSUBSCRIBE (all patterns when `patterns` is None)."""
        st = self._subs.get(sub)
        if st is None:
            return [(_b(p), 0) for p in patterns] if patterns is not None else []
        targets = list(st.patterns) if patterns is None else [_b(p) for p in patterns]
        out = []
        for pat in targets:
            if pat in st.patterns:
                del st.patterns[pat]
                self._drop_pattern(pat, sub)
            out.append((pat, st.count()))
        self._forget_if_empty(sub, st)
        return out

    def sunsubscribe(
        self, sub: Subscriber, names: Iterable[Name] | None = None
    ) -> list[tuple[bytes, int]]:
        """SUNSUBSCRIBE (all shard channels when `names` is None)."""
        st = self._subs.get(sub)
        if st is None:
            return [(_b(n), 0) for n in names] if names is not None else []
        targets = list(st.shards) if names is None else [_b(n) for n in names]
        out = []
        for ch in targets:
            if ch in st.shards:
                del st.shards[ch]
                self._drop(self._shards, self._shard_snap, ch, sub)
            out.append((ch, len(st.shards)))
        self._forget_if_empty(sub, st)
        return out

    def remove(self, sub: Subscriber) -> None:
        """Drop every subscription of `sub` (connection closed). Idempotent."""
        st = self._subs.pop(sub, None)
        if st is None:
            return
        for ch in st.channels:
            self._drop(self._channels, self._chan_snap, ch, sub)
        for ch in st.shards:
            self._drop(self._shards, self._shard_snap, ch, sub)
        for pat in st.patterns:
            self._drop_pattern(pat, sub)

    def subscription_count(self, sub: Subscriber) -> int:
        """Channels + patterns of `sub` (what SUBSCRIBE replies carry)."""
        st = self._subs.get(sub)
        return st.count() if st else 0

    def shard_count(self, sub: Subscriber) -> int:
        st = self._subs.get(sub)
        return len(st.shards) if st else 0

    def _drop(
        self,
        index: dict[bytes, dict[Subscriber, None]],
        snap: dict[bytes, tuple[Subscriber, ...]],
        ch: bytes,
        sub: Subscriber,
    ) -> None:
        members = index.get(ch)
        if members is not None:
            members.pop(sub, None)
            if not members:
                del index[ch]
        snap.pop(ch, None)

    def _drop_pattern(self, pat: bytes, sub: Subscriber) -> None:
        members = self._patterns.get(pat)
        if members is not None:
            members.pop(sub, None)
            if not members:
                del self._patterns[pat]
                self._compiled.pop(pat, None)
        self._pat_snap = None

    def _forget_if_empty(self, sub: Subscriber, st: _Subs) -> None:
        if not st.channels and not st.patterns and not st.shards:
            self._subs.pop(sub, None)

    # -- publish -----------------------------------------------------------------------------
    def publish(self, channel: Name, payload: bytes) -> int:
        """PUBLISH: deliver to channel and pattern subscribers; return the receivers."""
        ch = channel if type(channel) is bytes else _b(channel)
        if not self._patterns and ch not in self._channels:  # nobody listens: count only
            self.published += 1
            return 0
        receivers = 0
        slow: list[Subscriber] | None = None
        subs = self._chan_snap.get(ch)
        if subs is None and ch in self._channels:
            subs = self._chan_snap[ch] = tuple(self._channels[ch])
        if subs:
            for s in subs:
                try:
                    ok = s.deliver("message", ch, payload, None)
                except Exception:
                    log.exception("channels: subscriber %r failed", s)
                    ok = False
                if not ok:
                    (slow := slow or []).append(s)
            receivers += len(subs)
        pats = self._pat_snap
        if pats is None:
            pats = self._pat_snap = tuple(
                (p, self._compiled[p], tuple(m)) for p, m in self._patterns.items()
            )
        for pat, pred, members in pats:
            if pred(ch):  # type: ignore[operator]
                for s in members:
                    try:
                        ok = s.deliver("pmessage", ch, payload, pat)
                    except Exception:
                        log.exception("channels: subscriber %r failed", s)
                        ok = False
                    if not ok:
                        (slow := slow or []).append(s)
                receivers += len(members)
        self.published += 1
        self.delivered += receivers
        if slow:
            self._cut(slow)
        return receivers

    def spublish(self, channel: Name, payload: bytes) -> int:
        """SPUBLISH: deliver to shard-channel subscribers; return the receivers."""
        ch = _b(channel)
        subs = self._shard_snap.get(ch)
        if subs is None:
            if ch not in self._shards:
                return 0
            subs = self._shard_snap[ch] = tuple(self._shards[ch])
        slow = [s for s in subs if not _safe_deliver(s, "smessage", ch, payload, None)]
        self.published += 1
        self.delivered += len(subs)
        if slow:
            self._cut(slow)
        return len(subs)

    def _cut(self, slow: list[Subscriber], reason: str = CUT_OFF_REASON) -> None:
        for s in dict.fromkeys(slow):
            if s in self._subs:
                self.remove(s)
                self.cut_offs += 1
                try:
                    s.cut_off(reason)
                except Exception:
                    log.exception("channels: cutting off %r failed", s)

    # -- introspection (PUBSUB) --------------------------------------------------------------
    def channels(self, pattern: Name | None = None) -> list[bytes]:
        """PUBSUB CHANNELS [pattern]: active channels (>= 1 subscriber), sorted."""
        names = sorted(self._channels)
        if pattern is None:
            return names
        pred = compile_glob(_b(pattern))
        return [n for n in names if pred(n)]

    def numsub(self, names: Iterable[Name]) -> list[tuple[bytes, int]]:
        """PUBSUB NUMSUB: subscribers per channel (patterns not counted)."""
        return [(_b(n), len(self._channels.get(_b(n), ()))) for n in names]

    def numpat(self) -> int:
        """PUBSUB NUMPAT: the number of distinct subscribed patterns."""
        return len(self._patterns)

    def shardchannels(self, pattern: Name | None = None) -> list[bytes]:
        """PUBSUB SHARDCHANNELS [pattern]."""
        names = sorted(self._shards)
        if pattern is None:
            return names
        pred = compile_glob(_b(pattern))
        return [n for n in names if pred(n)]

    def shardnumsub(self, names: Iterable[Name]) -> list[tuple[bytes, int]]:
        """PUBSUB SHARDNUMSUB."""
        return [(_b(n), len(self._shards.get(_b(n), ()))) for n in names]

    def subscribers(self) -> int:
        """How many subscribers hold at least one subscription."""
        return len(self._subs)

    def close(self) -> None:
        """Cut off every subscriber (broker shutdown)."""
        self._cut(list(self._subs), "server shutting down")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as a subscriber receives it."""

    kind: str  # "message" | "pmessage" | "smessage"
    channel: bytes
    payload: bytes
    pattern: bytes | None = None


class BufferedSubscriber:
    """An in-process Subscriber with a bounded buffer (embedded API, router, tests).

    Limits follow Redis's `client-output-buffer-limit pubsub <hard> <soft> <seconds>`:
    over `hard_limit` bytes at once, or over `soft_limit` bytes continuously for
    `soft_seconds`, and `deliver` returns False (Channels then cuts it off). A limit of 0
    disables it. Buffered bytes count payload + channel + pattern lengths.
    """

    def __init__(
        self,
        hard_limit: int = DEFAULT_HARD_LIMIT,
        soft_limit: int = 0,
        soft_seconds: float = DEFAULT_SOFT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.hard_limit = hard_limit
        self.soft_limit = soft_limit
        self.soft_seconds = soft_seconds
        self.clock = clock or Clock()
        self._buf: deque[tuple[str, bytes, bytes, bytes | None]] = deque()
        self.buffered_bytes = 0
        self._soft_since: float | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.closed_reason: str | None = None

    def __hash__(self) -> int:
        return id(self)

    def deliver(self, kind: str, channel: bytes, payload: bytes, pattern: bytes | None) -> bool:
        if self.closed_reason is not None:
            return False
        self._buf.append((kind, channel, payload, pattern))
        size = self.buffered_bytes = (
            self.buffered_bytes + len(payload) + len(channel) + (len(pattern) if pattern else 0)
        )
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)
        if self.hard_limit and size > self.hard_limit:
            return False
        if self.soft_limit:
            if size > self.soft_limit:
                now = self.clock.monotonic()
                if self._soft_since is None:
                    self._soft_since = now
                elif now - self._soft_since >= self.soft_seconds:
                    return False
            else:
                self._soft_since = None
        return True

    def cut_off(self, reason: str) -> None:
        self.closed_reason = reason
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def __len__(self) -> int:
        return len(self._buf)

    def get_nowait(self) -> Delivery | None:
        if not self._buf:
            return None
        kind, ch, payload, pat = self._buf.popleft()
        self.buffered_bytes -= len(payload) + len(ch) + (len(pat) if pat else 0)
        if self.buffered_bytes <= self.soft_limit:
            self._soft_since = None
        return Delivery(kind, ch, payload, pat)

    def drain(self) -> list[Delivery]:
        out = []
        while self._buf:
            d = self.get_nowait()
            assert d is not None
            out.append(d)
        return out

    async def get(self, timeout: float | None = None) -> Delivery | None:
        """The next delivery; None on timeout or once cut off with nothing buffered."""
        d = self.get_nowait()
        if d is not None or self.closed_reason is not None:
            return d
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._waiter), timeout)
        except TimeoutError:
            return None
        finally:
            self._waiter = None
        return self.get_nowait()
