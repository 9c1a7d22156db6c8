"""The data-directory lock: one mqlite process per data directory.

Owns `<data_dir>/mqlite.lock`, a small file holding the owner's pid, locked with
`flock(LOCK_EX | LOCK_NB)` for the life of the process. The kernel drops the lock when
the process dies (even by SIGKILL), so a stale file never blocks a restart; the pid
inside is only informative. Two opens of one directory conflict even within a process.
Thread-safe: `DirLock.release` is idempotent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from mqlite.storage.errors import DataDirLocked

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "DirLock", "acquire_dir_lock"]

LOCK_FILE = "mqlite.lock"


class DirLock:
    """A held data-directory lock; `release()` (or the context manager) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"DirLock({str(self.path)!r}, held={self.held})"


def acquire_dir_lock(path: Path | str) -> DirLock:
    """Create `path` if needed and lock it for this process; raises `DataDirLocked`."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    lock_path = directory / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = ""
                try:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                except OSError:
                    pass
                raise DataDirLocked(
                    directory, f"pid {holder}" if holder else ""
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return DirLock(directory, fd)
