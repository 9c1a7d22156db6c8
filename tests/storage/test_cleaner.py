"""Log compaction in storage (storage/cleaner.py): latest value per key, offsets kept,
tombstones, aborted transactions, the active segment untouched, crash-safe swaps."""

from __future__ import annotations

import os
from pathlib import Path

from mqlite.storage import FileLog, LogConfig
from mqlite.storage.batchheader import ATTR_CONTROL
from mqlite.storage.recordbatch import decode_batch, encode_batch

HOUR = 3_600_000
NOW = 10 * 24 * HOUR


def _config(**kw: object) -> LogConfig:
    base = {"segment_bytes": 200, "segment_ms": None, "retention_ms": None, "compact": True,
                "delete_retention_ms": HOUR, "min_compaction_lag_ms": 0}
    base.update(kw)
    return LogConfig(**base)  # type: ignore[arg-type]


def _fill(log: FileLog, rows: list[tuple[bytes | None, bytes | None]], ts: int = NOW - 2 * HOUR) -> None:
    for key, value in rows:
        log.append([(key, value, (), ts)])


def _everything(log: FileLog) -> list[tuple[int, bytes | None, bytes | None]]:
    out = []
    for raw in log.read(log.start_offset, 1 << 30):
        h, records = decode_batch(raw)
        if not h.attributes & ATTR_CONTROL:
            out.extend((r.offset, r.key, r.value) for r in records)
    return out


def _rows(n: int) -> list[tuple[bytes | None, bytes | None]]:
    return [(b"k%d" % (i % 3), b"v%d" % i) for i in range(n)]


def test_compaction_keeps_latest_per_key_with_original_offsets(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "p", _config())
    _fill(log, _rows(30))
    end = log.end_offset
    assert log.segment_count > 3
    active_before = _everything(log)[-1]
    assert log.compact(NOW, end) > 0
    got = _everything(log)
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(offsets) and len(got) < 30
    assert got[-1] == active_before  # the active segment is untouched
    latest = {}
    for o, k, v in got:
        latest[k] = (o, v)
    assert latest == {b"k0": (27, b"v27"), b"k1": (28, b"v28"), b"k2": (29, b"v29")}
    for o, _k, v in got:  # every value kept still sits at its original offset
        assert v == b"v%d" % o
    assert log.end_offset == end
    log.close()
    reopened = FileLog(tmp_path / "p", _config())
    assert _everything(reopened) == got
    reopened.close()


def test_nothing_at_or_above_upto_or_younger_than_the_lag_is_cleaned(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "p", _config(min_compaction_lag_ms=3 * HOUR))
    _fill(log, _rows(30))
    before = _everything(log)
    assert log.compact(NOW, log.end_offset) == 0  # records are 2 h old: within the lag
    log.set_config(_config())
    assert log.compact(NOW, 0) == 0  # nothing below the last stable offset
    assert _everything(log) == before
    log.close()


def test_tombstones_go_after_delete_retention(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "p", _config(delete_retention_ms=3 * HOUR))
    _fill(log, [(b"a", b"1"), (b"b", b"1"), (b"a", None)] * 4)
    _fill(log, [(b"z", b"%d" % i) for i in range(12)])  # push the tombstones out of the active segment
    log.compact(NOW, log.end_offset)
    assert (b"a", None) in [(k, v) for _, k, v in _everything(log)]  # younger than delete.retention.ms
    log.set_config(_config(delete_retention_ms=HOUR))
    _fill(log, [(b"z", b"more%d" % i) for i in range(12)])
    log.compact(NOW, log.end_offset)
    keys = [k for _, k, _ in _everything(log)]
    assert b"a" not in keys and b"b" in keys
    log.close()


def test_aborted_transactional_batches_are_dropped(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "p", _config())
    _fill(log, [(b"a", b"committed")])
    first = log.end_offset
    log.append_batch(encode_batch([(b"a", b"aborted", (), NOW - 2 * HOUR)], producer_id=7, producer_epoch=0,
                                  base_sequence=0, is_transactional=True))
    _fill(log, [(b"z", b"%d" % i) for i in range(12)])
    log.compact(NOW, log.end_offset, lambda pid, base: pid == 7 and base == first)
    values = [v for _, k, v in _everything(log) if k == b"a"]
    assert values == [b"committed"]  # the aborted write neither shows nor supersedes
    log.close()


def test_a_crash_mid_clean_leaves_a_readable_log(tmp_path: Path) -> None:
    d = tmp_path / "p"
    log = FileLog(d, _config())
    _fill(log, _rows(30))
    before = _everything(log)
    first = log.segment_bases()[0]
    log.close()
    # crash 1: a cleaned file written but not swapped in
    (d / f"{first:020d}.log.cleaned").write_bytes(b"half written")
    # crash 2: indexes removed, then the process died before the replace
    for suffix in (".index", ".timeindex"):
        os.unlink(d / f"{first:020d}{suffix}")
    os.unlink(d / ".clean-shutdown")
    log = FileLog(d, _config())
    assert _everything(log) == before
    assert not list(d.glob("*.cleaned"))
    assert log.compact(NOW, log.end_offset) > 0
    after = _everything(log)
    # crash 3: after the replace, before the indexes were rewritten (no clean shutdown)
    for p in d.glob("*.index"):
        p.write_bytes(b"\0" * 8)
    log._closed = True  # the process is gone: nothing more is written
    log2 = FileLog(d, _config())
    assert _everything(log2) == after
    log2.close()
