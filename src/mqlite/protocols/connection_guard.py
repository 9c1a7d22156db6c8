"""Connection admission: descriptor limits, per-listener and per-address caps.

Owns issue 26's descriptor rules: at start the soft `RLIMIT_NOFILE` is raised to the
hard limit (`raise_fd_limit`, one clear log line either way); every accepted
connection, on every listener including HTTP, is admitted or closed at once by
`ConnectionGuard.admit`, so descriptors never run out under a flood:

- a listener holds at most `max_connections_per_listener` connections, and one client
  address at most `max_connections_per_address` on a listener;
- `fd_reserve` descriptors stay free for the data directory (segments, the catalog)
  and the listeners themselves;
- one protocol's flood never starves the others: each listener keeps a guaranteed
  share of the remaining descriptors, `(soft limit - reserve) / (2 x listeners)`, that
  the other listeners' connections may not take.

Each kind of refusal is logged once per listener (then counted in `refused`), not per
connection. Descriptors in use are estimated from the accepted socket's number (the
kernel hands out the lowest free one, so all below it are in use) and from the count of
connections plus what was open at start.

Concurrency: the server's one event loop.
"""

from __future__ import annotations

import logging
import os
import resource
from collections import Counter

from mqlite.settings import Settings

log = logging.getLogger("mqlite.limits")


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft descriptor limit to the hard one; return (soft, hard) in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return soft, hard
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("file descriptors: cannot raise the soft limit %d to %d (%s); serving with %d", soft, target, exc, soft)
        return soft, hard
    log.info("file descriptors: soft limit raised from %d to %d", soft, target)
    return target, hard


def open_descriptors() -> int:
    """Descriptors this process has open now (Linux /proc; 0 where unknown)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


class ConnectionGuard:
    """Admission for every listener of one server; see module docstring."""

    def __init__(self, settings: Settings, soft_limit: int | None = None) -> None:
        self.per_listener = int(getattr(settings, "max_connections_per_listener", 10_000))
        self.per_address = int(getattr(settings, "max_connections_per_address", 1_000))
        self.reserve = int(getattr(settings, "fd_reserve", 64))
        self.soft_limit = soft_limit if soft_limit is not None else resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.baseline = open_descriptors()
        self.counts: Counter[str] = Counter()
        self.by_address: Counter[tuple[str, str]] = Counter()
        self.listeners: set[str] = set()
        self.refused: Counter[tuple[str, str]] = Counter()  # (listener, kind) -> count

    def add_listener(self, name: str) -> None:
        self.listeners.add(name)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _share(self) -> int:
        return max(0, (self.soft_limit - self.reserve) // (2 * max(1, len(self.listeners))))

    def admit(self, listener: str, address: str, fileno: int) -> bool:
        """Whether a connection just accepted on `listener` from `address` may stay."""
        refusal = self._refusal(listener, address, fileno)
        if refusal is None:
            self.counts[listener] += 1
            self.by_address[(listener, address)] += 1
            return True
        kind, reason = refusal
        key = (listener, kind)
        if not self.refused[key]:
            log.warning("%s: refusing connections from %s and others: %s (logged once)", listener, address, reason)
        self.refused[key] += 1
        return False

    def release(self, listener: str, address: str) -> None:
        self.counts[listener] -= 1
        if self.counts[listener] <= 0:
            del self.counts[listener]
        key = (listener, address)
        self.by_address[key] -= 1
        if self.by_address[key] <= 0:
            del self.by_address[key]

    def _refusal(self, listener: str, address: str, fileno: int) -> tuple[str, str] | None:
        """None, or (kind, reason): a kind is logged once per listener."""
        if self.counts[listener] >= self.per_listener:
            return "listener", f"max_connections_per_listener ({self.per_listener}) reached"
        if self.by_address[(listener, address)] >= self.per_address:
            return "address", f"max_connections_per_address ({self.per_address}) reached"
        in_use = max(fileno + 1, self.baseline + self.total + 1)
        free = self.soft_limit - self.reserve - in_use
        share = self._share()
        owed = sum(max(0, share - self.counts[name]) for name in self.listeners if name != listener)
        if free < owed:
            return "descriptors", (f"file descriptors nearly exhausted ({in_use} of {self.soft_limit} in use, "
                    f"{self.reserve} reserved, {owed} kept for the other listeners)")
        return None
