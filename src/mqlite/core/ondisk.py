"""What the data directory holds, independent of the catalog: the facts recovery rests on.

A broker must never delete data because its metadata is missing or damaged. This
module reads entity directories (`<data_dir>/<kind>s/<dir>/<partition>/`) to recover
what the catalog should say: the entity's name (its `.name` file, written when the
directory is created, else the percent-decoded directory name) and its partition count
(the numeric sub-directories). Registries delete an entity's data (moved to
`<data_dir>/.trash/` at once, core/trash.py) before its catalog row, so a crash leaves
a row without data, never data without a row; data found where a new entity is being
created is set aside (`<dir>~set-aside-<hex>`), never deleted.

Layout facts:
    <data_dir>/catalog.sqlite3            the catalog (core/catalog.py)
    <data_dir>/streams/<dir>/.name        utf-8 entity name (absent in dirs made before it)
    <data_dir>/streams/<dir>/<n>/         one log per partition (storage/filelog.py)
    <data_dir>/queues/<dir>/0/            a queue's message log; queue-journals/<dir>/0/ its lease journal
Pure file-system functions; no state.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

__all__ = [
    "NAME_FILE",
    "OnDiskEntity",
    "entities_on_disk",
    "fsync_dir",
    "set_aside",
    "write_name",
]

NAME_FILE = ".name"
#: data found where a new entity was being created: kept, never deleted automatically
ASIDE_MARK = "~set-aside-"
#: entity kinds whose data can be recovered without the catalog (routers have no logs)
RECOVERABLE_KINDS = ("stream", "queue")


@dataclass(frozen=True, slots=True)
class OnDiskEntity:
    """One entity directory: its kind, recovered name, path, and partition count."""

    kind: str
    name: str | None  # None: neither a .name file nor a reversible directory name
    path: Path
    partitions: int
    has_data: bool  # any segment with bytes


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_name(directory: Path, name: str) -> None:
    """Record an entity's name in its new directory (durable with the directory)."""
    path = directory / NAME_FILE
    if not path.exists():
        path.write_bytes(name.encode("utf-8", "surrogatepass"))


def _read_name(directory: Path) -> str | None:
    try:
        return (directory / NAME_FILE).read_bytes().decode("utf-8", "surrogatepass")
    except (OSError, UnicodeDecodeError):
        pass
    if "~" in directory.name:  # a hashed (over-long) name cannot be decoded
        return None
    return unquote(directory.name)


def _partitions(directory: Path) -> list[int]:
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def _has_data(directory: Path) -> bool:
    return any(seg.stat().st_size > 0 for seg in directory.glob("*/*.log"))


def entities_on_disk(data_dir: Path, kind: str) -> list[OnDiskEntity]:
    """The live (not trashed) entity directories of `kind` under `data_dir`."""
    base = data_dir / f"{kind}s"
    if not base.is_dir():
        return []
    out = []
    for d in sorted(base.iterdir()):
        if not d.is_dir() or ASIDE_MARK in d.name:
            continue
        parts = _partitions(d)
        out.append(OnDiskEntity(kind, _read_name(d), d, (parts[-1] + 1) if parts else 0, _has_data(d)))
    return out


def set_aside(path: Path, mark: str = ASIDE_MARK) -> Path | None:
    """Rename an entity directory to a set-aside name, durably; None when it did not
    exist."""
    if not path.exists():
        return None
    moved = path.with_name(f"{path.name}{mark}{secrets.token_hex(4)}")
    os.rename(path, moved)
    fsync_dir(path.parent)
    return moved
