"""Group commit: one fsync thread per broker, shared by every log.

Owns `FsyncPolicy` (when an append counts as durable) and `GroupCommitter` (the thread
that makes it so). A log calls `committer.durable_future(log)` after each append:

- `always`: the append's future is resolved by the committer thread after a
  `log.sync()` that ran *after* the append was written. Every append registered while a
  sync is in progress is covered by the next one, so N concurrent appends cost one
  write + one fsync per log, not N.
- interval (ms): the future is done at once; the thread syncs every dirty log each
  interval.
- `never`: the future is done at once; data reaches disk when the OS decides (and on
  `flush()`/`close()`).

Concurrency contract: every method is thread-safe. The committer calls `target.sync()`
from its own thread, never while holding its own lock, so a log's lock may be taken
inside `sync()`. Futures are `concurrent.futures.Future`; the asyncio core awaits them
with `asyncio.wrap_future`. A sync that raises fails the futures it covers with that
exception. Nothing here touches asyncio.
"""

from __future__ import annotations

import enum
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, Self

from mqlite.storage.histogram import COUNT_BUCKETS, Histogram

__all__ = ["DONE", "FsyncMode", "FsyncPolicy", "GroupCommitter", "Syncable"]


class FsyncMode(enum.Enum):
    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class FsyncPolicy:
    """When appends become durable: `always`, every `interval_ms`, or `never`."""

    mode: FsyncMode = FsyncMode.ALWAYS
    interval_ms: int = 0

    @classmethod
    def parse(cls, text: str | int) -> FsyncPolicy:
        """Parse `always`, `never` or an interval in milliseconds (the `--fsync` flag)."""
        if isinstance(text, int):
            ms = text
        else:
            t = text.strip().lower()
            if t == "always":
                return cls(FsyncMode.ALWAYS)
            if t == "never":
                return cls(FsyncMode.NEVER)
            t = t.removesuffix("ms")
            try:
                ms = int(t)
            except ValueError:
                raise ValueError(
                    f"fsync policy must be 'always', 'never' or milliseconds, not {text!r}"
                ) from None
        if ms < 0:
            raise ValueError(f"fsync interval must be >= 0 ms, not {ms}")
        if ms == 0:
            return cls(FsyncMode.ALWAYS)
        return cls(FsyncMode.INTERVAL, ms)

    def __str__(self) -> str:
        return (
            str(self.interval_ms)
            if self.mode is FsyncMode.INTERVAL
            else self.mode.value
        )


class Syncable(Protocol):
    def sync(self) -> None:
        """Write any buffered bytes and fsync them."""


def _done() -> Future[None]:
    f: Future[None] = Future()
    f.set_result(None)
    return f


#: The already-resolved future handed out when durability needs no waiting.
DONE: Future[None] = _done()


class GroupCommitter:
    """The one fsync thread of a broker. Started lazily; `close()` syncs and stops it."""

    def __init__(
        self, policy: FsyncPolicy | str | int = "always", *, name: str = "mqlite-fsync"
    ) -> None:
        self.policy = (
            policy if isinstance(policy, FsyncPolicy) else FsyncPolicy.parse(policy)
        )
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._waiting: list[tuple[Syncable, Future[None]]] = []
        self._dirty: dict[int, Syncable] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self.syncs = 0  # fsync rounds run (for tests and metrics)
        self.batch_sizes = Histogram(COUNT_BUCKETS)  # appends covered by one round (`always`)
        self.sync_seconds = Histogram()  # how long one log's sync took

    @property
    def buffers_writes(self) -> bool:
        """True when logs may hold appended bytes until `sync()` (policy `always`)."""
        return self.policy.mode is FsyncMode.ALWAYS

    # -- called by logs --------------------------------------------------------------
    def durable_future(self, target: Syncable) -> Future[None]:
        """Register an append just made to `target`; returns when it will be durable."""
        mode = self.policy.mode
        if mode is FsyncMode.NEVER:
            return DONE
        if mode is FsyncMode.INTERVAL:
            with self._cond:
                self._dirty[id(target)] = target
                self._ensure_thread()
            return DONE
        fut: Future[None] = Future()
        with self._cond:
            closed = self._closed
            if not closed:
                self._waiting.append((target, fut))
                self._ensure_thread()
                self._cond.notify()
        if closed:
            target.sync()
            fut.set_result(None)
        return fut

    def forget(self, target: Syncable) -> None:
        """Drop `target` from the dirty set (it was closed and synced by its owner)."""
        with self._cond:
            self._dirty.pop(id(target), None)

    # -- lifecycle -------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name=self._name, daemon=True
            )
            self._thread.start()

    def sync_all(self) -> None:
        """Sync every dirty log now, from the calling thread."""
        with self._cond:
            targets = list(self._dirty.values())
            self._dirty.clear()
        for t in targets:
            t.sync()

    def close(self) -> None:
        """Sync what is pending and stop the thread. Later appends sync inline."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._round()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ------------------------------------------------------------------
    def _round(self) -> None:
        with self._cond:
            waiting = self._waiting
            self._waiting = []
            targets = dict(self._dirty)
            self._dirty.clear()
        for target, _ in waiting:
            targets[id(target)] = target
        if not targets:
            return
        errors: dict[int, Exception] = {}
        clock = time.perf_counter
        for key, target in targets.items():
            began = clock()
            try:
                target.sync()
            except Exception as exc:  # noqa: BLE001 - reported to the appends that waited on it
                errors[key] = exc
            self.sync_seconds.observe(clock() - began)
        self.syncs += 1
        if waiting:
            self.batch_sizes.observe(len(waiting))
        for target, fut in waiting:
            error = errors.get(id(target))
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)

    def _run(self) -> None:
        interval = (
            self.policy.interval_ms / 1000.0
            if self.policy.mode is FsyncMode.INTERVAL
            else None
        )
        while True:
            with self._cond:
                if interval is None:
                    while not self._waiting and not self._closed:
                        self._cond.wait()
                elif not self._closed:
                    self._cond.wait(interval)
                closed = self._closed
            self._round()
            if closed:
                return
