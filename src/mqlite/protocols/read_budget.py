"""One budget for the bytes every connection of a server holds in partial requests.

Owns the global bound of issue 26 ("beyond it, new reads pause rather than allocate").
Each connection reports the bytes its incomplete requests are *declared* to need (a
Kafka frame's size field, a RESP bulk's `$<len>`, an AMQP content header's body size,
plus what it already buffered); the budget reserves them all or nothing, as Kafka's
`MemoryPool` does for `queued.max.request.bytes`. A connection whose next reservation
does not fit stops reading (`pause_reading(Pause.READ_BUDGET)`, so the kernel's TCP window pushes
back on the peer) and waits, first come first served, until others release theirs.
Requests of at most `FREE_BYTES` (64 KiB: every handshake, almost every command) are
not charged, so a full budget pauses big partial requests and never the small traffic
of other clients. Memory held is therefore at most the limit plus, per connection, one
socket read and `FREE_BYTES`; the connection caps (`connection_guard.py`) bound those.

A request made of several declared parts (RESP arguments, AMQP bodies on several
channels) can leave every holder waiting for the others: then nothing would ever free
memory, so the largest holder is cut off, as Redis's `maxmemory-clients` evicts its
biggest client. A connection may go over the budget alone, when nothing else is held,
up to its protocol's largest single request (`max_request_bytes`: a Kafka frame, a
Redis query buffer, an AMQP message), so those caps, not this budget, decide what is
too large; bodies on many AMQP channels are several requests and get no such pass.

Concurrency: the server's one event loop; plain bookkeeping, nothing blocks.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from mqlite.protocols.flow import Pause

log = logging.getLogger("mqlite.limits")

DEFAULT_LIMIT = 256 * 1024 * 1024
FREE_BYTES = 64 * 1024


class Reader(Protocol):
    """What the budget needs from a connection (`transport.Connection` implements it)."""

    peername: Any
    max_request_bytes: int

    def pause_reading(self, reason: Pause) -> None: ...

    def resume_reading(self, reason: Pause) -> None: ...

    def evict(self, reason: str) -> None: ...


class ReadBudget:
    """Reservations of declared request bytes, shared by all listeners of one server."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.used = 0
        self._held: dict[Reader, int] = {}
        self._waiting: dict[Reader, int] = {}  # insertion order = first come first served
        self.pauses = 0  # reads paused for the budget, ever (a metric and a test hook)
        self.evictions = 0
        self._warned = False

    def held(self, conn: Reader) -> int:
        return self._held.get(conn, 0)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def update(self, conn: Reader, declared: int) -> None:
        """`conn` now needs `declared` bytes for its partial requests: reserve or wait."""
        if declared <= FREE_BYTES:
            declared = 0
        old = self._held.get(conn, 0)
        if declared == old and not self._waiting:
            return  # the hot path: nothing changed
        if declared <= old:
            self._set(conn, declared)
            if self._waiting.pop(conn, None) is not None:
                conn.resume_reading(Pause.READ_BUDGET)
            if declared < old:
                self._wake()
            return
        if self._fits(declared - old, old) or (self.used == old and declared <= conn.max_request_bytes):
            self._set(conn, declared)
            if self._waiting.pop(conn, None) is not None:
                conn.resume_reading(Pause.READ_BUDGET)
            return
        if conn not in self._waiting:
            self.pauses += 1
            conn.pause_reading(Pause.READ_BUDGET)
            if not self._warned:
                self._warned = True
                log.warning(
                    "read budget full (%d of %d bytes held in partial requests): pausing reads "
                    "from %s and others until memory is released (logged once)", self.used, self.limit, conn.peername
                )
        self._waiting[conn] = declared
        self._break_stall()

    def forget(self, conn: Reader) -> None:
        """The connection is gone: release all it held."""
        self._waiting.pop(conn, None)
        if self._held.pop(conn, 0):
            self._recount()
            self._wake()

    # -- internals ----------------------------------------------------------------------
    def _fits(self, need: int, own: int) -> bool:
        return self.used + need <= self.limit

    def _set(self, conn: Reader, n: int) -> None:
        old = self._held.get(conn, 0)
        if n:
            self._held[conn] = n
        else:
            self._held.pop(conn, None)
        self.used += n - old

    def _recount(self) -> None:
        self.used = sum(self._held.values())

    def _wake(self) -> None:
        for conn, want in list(self._waiting.items()):
            own = self._held.get(conn, 0)
            if not (self._fits(want - own, own) or (self.used == own and want <= conn.max_request_bytes)):
                break  # first come first served: a big waiter is not overtaken forever
            del self._waiting[conn]
            self._set(conn, want)
            conn.resume_reading(Pause.READ_BUDGET)
        if self.used < self.limit // 2:
            self._warned = False  # the next episode is logged again

    def _break_stall(self) -> None:
        """Every holder waits for another: cut the largest off so the rest can go on."""
        while self._waiting and all(c in self._waiting for c in self._held):
            # nothing held: the head waiter wants more than an empty budget gives it
            pool = self._held or self._waiting
            victim = max(pool, key=pool.__getitem__)
            size = pool[victim]
            self.evictions += 1
            log.warning(
                "read budget: every connection holding partial requests waits for memory; "
                "closing %s, the largest (%d bytes declared)", victim.peername, size
            )
            self._waiting.pop(victim, None)
            self._held.pop(victim, None)
            self._recount()
            victim.evict("read budget exhausted")
            self._wake()
