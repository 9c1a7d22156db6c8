"""Opening the catalog safely: never start in a way that would treat data as orphans.

`refuse_without_catalog` raises `CatalogUnusable` (one line, naming the repair command)
when `catalog.sqlite3` is missing but entity directories hold data; `open_catalog` turns
SQLite's "file is not a database" and a failing `PRAGMA quick_check` into the same
error.
Called once by `BrokerCore` at open, on its event loop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from mqlite.core import ondisk
from mqlite.core.catalog import Catalog
from mqlite.core.errors import CatalogUnusable

__all__ = ["open_catalog", "refuse_without_catalog"]


def _repair_hint(data_dir: Path) -> str:
    return f"nothing was deleted; run `mqlite check {data_dir}`, then `mqlite repair {data_dir} --apply`"


def refuse_without_catalog(data_dir: Path, catalog_path: Path) -> None:
    """Raise `CatalogUnusable` if the catalog is missing while data is present."""
    counts = {
        kind: sum(1 for e in ondisk.entities_on_disk(data_dir, kind) if e.has_data)
        for kind in ondisk.RECOVERABLE_KINDS
    }
    if any(counts.values()):
        held = ", ".join(f"{n} {kind}s" for kind, n in counts.items() if n)
        raise CatalogUnusable(
            f"catalog {catalog_path} is missing but {data_dir} holds data of {held}; "
            + _repair_hint(data_dir)
        )


def open_catalog(path: Path | None, *, fsync: bool, committer: Any = None) -> Catalog:
    """The catalog at `path`, checked (`PRAGMA quick_check`); `CatalogUnusable` when
    SQLite cannot read it."""
    try:
        catalog = Catalog(path, fsync=fsync, committer=committer)
    except sqlite3.DatabaseError as exc:
        where = path.parent if path else Path(".")
        raise CatalogUnusable(f"catalog {path} is damaged ({exc}); " + _repair_hint(where)) from None
    if path is None:
        return catalog
    try:
        verdict = catalog.quick_check()
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    if verdict != "ok":
        catalog.close()
        raise CatalogUnusable(f"catalog {path} is damaged ({verdict}); " + _repair_hint(path.parent))
    return catalog
