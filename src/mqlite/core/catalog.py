"""Durable metadata in SQLite: entities, their configuration, and small key-value state.

Owns the file `<data_dir>/catalog.sqlite3` (`:memory:` when the broker runs in memory).
Two tables:

    entities(kind TEXT, name TEXT, config TEXT(JSON), PRIMARY KEY(kind, name))
        kind: 'stream' | 'queue' | 'router' | 'binding' | 'user' | ... (free-form)
    kv(namespace TEXT, key TEXT, value TEXT(JSON), PRIMARY KEY(namespace, key))
        committed offsets ('offsets/<group>'), group state, front-end state that must
        survive restart (e.g. 'resp/groups'), tags.

Invariants: every write is one transaction (WAL; synchronous=FULL, durable when it
returns, or NORMAL with `fsync=False`: durable against a process crash when it returns,
and against power loss once the `committer` (an fsync interval) fsynced the WAL); `transaction()` groups several writes atomically, and nested blocks are
savepoints (an inner failure undoes only the inner writes). Values are JSON.
Concurrency: one connection, used from the core's event loop thread only (the embedded
Broker marshals onto that thread), so `check_same_thread` is off but never exercised.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities(
    kind TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
    PRIMARY KEY(kind, name));
CREATE TABLE IF NOT EXISTS kv(
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY(namespace, key));
"""


class Catalog:
    """SQLite-backed metadata; see module docstring for tables and invariants."""

    def __init__(self, path: Path | None, *, fsync: bool = True, committer: Any = None) -> None:
        self.path = path
        #: under an fsync interval, the log's GroupCommitter, which calls `sync()` once
        #: per interval after a write: the WAL's fsync makes the interval a promise for
        #: the catalog too (synchronous=NORMAL alone waits for a checkpoint, ~1000 pages)
        self._committer = committer
        self._wal_dir_synced = False
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: durable against power loss when a write returns. NORMAL (for brokers
            # whose fsync policy is an interval or 'never'): durable against a process
            # crash (SIGKILL) at once, against power loss at the next WAL checkpoint.
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(SCHEMA)
        self._depth = 0

    # -- transactions -----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically. Nests: the outermost commits; an inner block that
        raises rolls back only its own writes (a SAVEPOINT), so a caller that catches
        the error keeps the outer transaction's other writes consistent."""
        depth = self._depth
        if depth == 0:
            self._db.execute("BEGIN IMMEDIATE")
        else:
            self._db.execute(f"SAVEPOINT sp{depth}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if depth == 0:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO sp{depth}")
                self._db.execute(f"RELEASE sp{depth}")
            raise
        self._depth -= 1
        if depth == 0:
            self._db.execute("COMMIT")
            if self._committer is not None:
                self._committer.durable_future(self)  # interval mode: marks us dirty
        else:
            self._db.execute(f"RELEASE sp{depth}")

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        """One statement. A statement is atomic by itself (SQLite undoes a failed one),
        so inside a transaction it needs no savepoint, and outside one it commits on
        its own (autocommit): one `execute` instead of three. An autocommitted write
        is a commit, so under an fsync interval it marks the WAL for the next sync, as
        `transaction()` does."""
        cursor = self._db.execute(sql, params)
        if self._depth == 0 and self._committer is not None:
            self._committer.durable_future(self)
        return cursor

    # -- entities ---------------------------------------------------------------------
    def put_entity(self, kind: str, name: str, config: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO entities(kind, name, config) VALUES (?, ?, ?)",
            (kind, name, orjson.dumps(config).decode()),
        )

    def get_entity(self, kind: str, name: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT config FROM entities WHERE kind = ? AND name = ?", (kind, name)
        ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def delete_entity(self, kind: str, name: str) -> bool:
        cur = self._write("DELETE FROM entities WHERE kind = ? AND name = ?", (kind, name))
        return cur.rowcount > 0

    def list_entities(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db.execute(
            "SELECT name, config FROM entities WHERE kind = ? ORDER BY name", (kind,)
        ).fetchall()
        return [(name, orjson.loads(config)) for name, config in rows]

    # -- key-value --------------------------------------------------------------------
    def kv_put(self, namespace: str, key: str, value: Any) -> None:
        self._write(
            "INSERT OR REPLACE INTO kv(namespace, key, value) VALUES (?, ?, ?)",
            (namespace, key, orjson.dumps(value).decode()),
        )

    def kv_get(self, namespace: str, key: str) -> Any:
        row = self._db.execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def kv_delete(self, namespace: str, key: str | None = None) -> None:
        """Delete one key, or the whole namespace when `key` is None."""
        if key is None:
            self._write("DELETE FROM kv WHERE namespace = ?", (namespace,))
        else:
            self._write("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    def kv_items(self, namespace: str) -> list[tuple[str, Any]]:
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
        ).fetchall()
        return [(key, orjson.loads(value)) for key, value in rows]

    def clear(self, *, keep_kinds: frozenset[str] = frozenset(),
              keep_namespaces: frozenset[str] = frozenset()) -> None:
        """Delete every entity and kv row except the kept kinds and namespaces (reset)."""
        kinds, spaces = sorted(keep_kinds), sorted(keep_namespaces)
        with self.transaction():
            self._db.execute(
                f"DELETE FROM entities WHERE kind NOT IN ({','.join('?' * len(kinds))})", kinds)
            self._db.execute(
                f"DELETE FROM kv WHERE namespace NOT IN ({','.join('?' * len(spaces))})", spaces)

    def sync(self) -> None:
        """fsync the WAL (called by the group committer's thread; touches no SQLite
        state, only the file, so it is safe beside the loop's writes)."""
        if self.path is None:
            return
        wal = Path(f"{self.path}-wal")
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if not self._wal_dir_synced:  # the WAL's directory entry, once
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
            self._wal_dir_synced = True

    def quick_check(self) -> str:
        """SQLite's `PRAGMA quick_check` verdict: "ok" or the first problem found."""
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        return "; ".join(str(r[0]) for r in rows[:3])

    def close(self) -> None:
        self._db.close()
