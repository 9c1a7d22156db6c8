"""Catalog: durable metadata in SQLite; transactional writes (issue #3 section 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqlite.core.catalog import Catalog


def test_entities_round_trip_and_list_in_name_order() -> None:
    """Rule: put/get/list/delete entities by (kind, name); configs are JSON values."""
    c = Catalog(None)
    c.put_entity("queue", "b", {"x": 1, "nested": {"y": [1, 2]}})
    c.put_entity("queue", "a", {})
    c.put_entity("stream", "a", {"partitions": 3})
    assert c.get_entity("queue", "b") == {"x": 1, "nested": {"y": [1, 2]}}
    assert [n for n, _ in c.list_entities("queue")] == ["a", "b"]
    assert c.delete_entity("queue", "a") is True and c.delete_entity("queue", "a") is False
    assert c.get_entity("queue", "a") is None
    assert c.get_entity("stream", "a") == {"partitions": 3}
    c.close()


def test_kv_namespaces_are_independent_and_deletable_whole() -> None:
    """Rule: kv values live per namespace; kv_delete(ns) drops the whole namespace."""
    c = Catalog(None)
    c.kv_put("offsets/g", "t\x1f0", {"o": 1})
    c.kv_put("offsets/g", "t\x1f1", {"o": 2})
    c.kv_put("offsets/h", "t\x1f0", 3)
    assert c.kv_items("offsets/g") == [("t\x1f0", {"o": 1}), ("t\x1f1", {"o": 2})]
    c.kv_delete("offsets/g", "t\x1f0")
    assert c.kv_get("offsets/g", "t\x1f0") is None
    c.kv_delete("offsets/g")
    assert c.kv_items("offsets/g") == [] and c.kv_get("offsets/h", "t\x1f0") == 3
    c.close()


def test_a_failed_transaction_changes_nothing() -> None:
    """Rule: writes grouped in transaction() are atomic (all or none)."""
    c = Catalog(None)
    c.put_entity("queue", "keep", {"v": 1})
    with pytest.raises(RuntimeError), c.transaction():
        c.put_entity("queue", "keep", {"v": 2})
        c.kv_put("ns", "k", 1)
        raise RuntimeError("boom")
    assert c.get_entity("queue", "keep") == {"v": 1}
    assert c.kv_get("ns", "k") is None
    with c.transaction(), c.transaction():  # nests: only the outermost commits
        c.kv_put("ns", "k", 2)
    assert c.kv_get("ns", "k") == 2
    c.close()


@pytest.mark.parametrize("fsync", [True, False])
def test_everything_written_is_there_after_reopening_the_file(tmp_path: Path, fsync: bool) -> None:
    """Rule (issue #3): a restart restores every entity and kv value (with either
    SQLite synchronous level the broker's fsync policy selects)."""
    path = tmp_path / "catalog.sqlite3"
    c = Catalog(path, fsync=fsync)
    c.put_entity("router", "ex", {"kind": "topic"})
    c.kv_put("resp/groups", "s", ["a", "b"])
    c.close()
    c = Catalog(path)
    assert c.get_entity("router", "ex") == {"kind": "topic"}
    assert c.kv_get("resp/groups", "s") == ["a", "b"]
    c.close()


def test_a_failed_inner_block_undoes_only_its_own_writes() -> None:
    """Rule: nested transactions are savepoints; the outer one still commits."""
    c = Catalog(None)
    with c.transaction():
        c.kv_put("ns", "outer", 1)
        try:
            with c.transaction():
                c.kv_put("ns", "inner", 2)
                raise ValueError("inner fails")
        except ValueError:
            pass
        c.kv_put("ns", "after", 3)
    assert c.kv_items("ns") == [("after", 3), ("outer", 1)]
    c.close()
