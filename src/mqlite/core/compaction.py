"""The log cleaner's scheduler: compaction passes over compacted streams, off the event loop.

Each maintenance tick (`StreamRegistry.tick`) calls `Compactor.tick`, which starts one
daemon thread for a pass unless the previous pass is still running. A pass visits every
partition of every stream whose cleanup policy includes `compact` and calls
`Log.compact` (storage/cleaner.py) with the partition's last stable offset (the high
watermark when no transaction is open) and the aborted transactions from
`core.transactions`, so undecided data is never touched and aborted data is dropped.
Produce is never blocked: the thread reads through the log's thread-safe API and holds
the log's lock only to swap one segment.
Concurrency: `tick` on the event loop; the pass in its own thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("mqlite.cleaner")


class Compactor:
    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.passes = 0  # finished passes (tests and metrics)

    def tick(self, streams: list[Any], txns: Any, now_ms: int) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        jobs = []
        for stream in streams:
            if stream.deleted:
                continue
            for part in stream._partitions:
                if not part.log.config.compact or not hasattr(part.log, "directory"):
                    continue  # LogConfig is cheap to ask every tick; in-memory logs are not compacted
                jobs.append((stream, part, _upto(stream, part.index, txns), _aborted(stream, part.index, txns)))
        if not jobs:
            return
        self._thread = threading.Thread(target=self._run, args=(jobs, now_ms), name="mqlite-cleaner", daemon=True)
        self._thread.start()

    def _run(self, jobs: list[Any], now_ms: int) -> None:
        for stream, part, upto, aborted in jobs:
            try:
                n = part.log.compact(now_ms, upto, aborted)
                if n:
                    log.info("compacted %d segment(s) of %s-%d", n, stream.name, part.index)
            except Exception:  # a closed/deleted log or a full disk: try again next pass
                if not stream.deleted and not part.log.closed:
                    log.exception("compaction of %s-%d failed", stream.name, part.index)
        self.passes += 1


def _upto(stream: Any, index: int, txns: Any) -> int:
    return int(txns.last_stable(stream, index) if txns is not None else stream.latest(index))


def _aborted(stream: Any, index: int, txns: Any) -> Any:
    if txns is None:
        return None
    return lambda pid, base: any(p == pid for p, _ in txns.aborted(stream, index, base, base + 1))
