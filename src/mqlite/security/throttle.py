"""Slow repeated failed logins per client address, across every protocol of a server.

Every front-end reports a failed authentication (wrong secret, unknown user, bad SCRAM
proof, untrusted client certificate) with `failed(owner, address)` and waits the
seconds it returns before answering: the first `FREE` failures of an address are
answered at once, each one after that waits twice as long as the one before (from
`BASE`, at most `MAX`). An address that has not failed for `WINDOW` seconds starts
over. The count is per server (`owner` is its core), shared by all its front-ends, so
trying passwords on Redis slows the same address's attempts on Kafka, AMQP and HTTP.
Concurrency: the server's event loop; plain dicts, bounded to `MAX_ADDRESSES`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

FREE = 3
BASE = 0.25
MAX = 5.0
WINDOW = 60.0
MAX_ADDRESSES = 10_000


class FailedLogins:
    """Failure counts per address; see module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, tuple[int, float]] = {}  # address -> (count, last failure)

    def failed(self, address: str) -> float:
        """Record a failure; the seconds to wait before answering it."""
        now = self.clock()
        count, last = self.failures.get(address, (0, now))
        if now - last > WINDOW:
            count = 0
        count += 1
        if len(self.failures) >= MAX_ADDRESSES and address not in self.failures:
            self._prune(now)
        self.failures[address] = (count, now)
        return delay_for(count)

    def _prune(self, now: float) -> None:
        for addr, (_, last) in list(self.failures.items()):
            if now - last > WINDOW:
                del self.failures[addr]
        while len(self.failures) >= MAX_ADDRESSES:  # all recent: drop the oldest
            del self.failures[next(iter(self.failures))]


def delay_for(count: int) -> float:
    """Seconds to wait before answering the `count`-th recent failure of one address."""
    if count <= FREE:
        return 0.0
    return float(min(MAX, BASE * 2 ** (count - FREE - 1)))


_by_owner: weakref.WeakKeyDictionary[Any, FailedLogins] = weakref.WeakKeyDictionary()


def for_server(owner: Any) -> FailedLogins:
    """The failure counts shared by every front-end of the server owning `owner`."""
    found = _by_owner.get(owner)
    if found is None:
        found = _by_owner[owner] = FailedLogins()
    return found


def address_of(peer: Any) -> str:
    """The client address of a peername tuple (or a host string)."""
    if isinstance(peer, (tuple, list)) and peer:
        return str(peer[0])
    return str(peer or "")
