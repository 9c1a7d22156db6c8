"""Trash: delete data directories off the event loop, after moving them out of the way.

`Trash(data_dir).discard(path)` renames `path` into `<data_dir>/.trash/` (one rename,
microseconds, atomic: the entity's directory is gone at once, so a new entity of the
same name starts empty) and a daemon thread removes the files afterwards (milliseconds
per directory on a busy disk: too slow for a reset around every test if done inline).
Kafka deletes topics the same way (renames to `-delete`, removes later). Whatever a
crash leaves in `.trash` is removed when the next `Trash` for that directory starts.
Concurrency: `discard` is called from the core's loop; the thread only removes what is
already inside `.trash`, which nothing else reads.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import threading
import uuid
from pathlib import Path

TRASH_DIR = ".trash"


class Trash:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / TRASH_DIR
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._names = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]
        self._made = False
        if self.root.is_dir():  # left by a crash: remove in the background
            for leftover in self.root.iterdir():
                self._later(leftover)

    def discard(self, path: Path) -> None:
        """Make `path` disappear now and its files later; missing paths are ignored."""
        if not self._made:
            self.root.mkdir(exist_ok=True)
            self._made = True
        target = self.root / f"{self._prefix}-{next(self._names)}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return
        except OSError:  # another file system, or anything odd: delete inline
            shutil.rmtree(path, ignore_errors=True)
            return
        self._later(target)

    def _later(self, path: Path) -> None:
        self._queue.put(path)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqlite-trash", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            path = self._queue.get()
            if path is None:
                return
            shutil.rmtree(path, ignore_errors=True)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until everything discarded so far is removed (close, tests)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None
