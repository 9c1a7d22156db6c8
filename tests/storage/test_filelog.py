"""FileLog on disk: segment files, sparse indexes, rolls, recovery, corruption reports
(issue 2 "Storage engine": roll by size and age, indexes rebuilt if missing or stale,
torn/CRC-failing tail truncated, corrupt middle segment reported with path and offset)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from mqlite.storage import (
    CorruptSegment,
    FileLog,
    GroupCommitter,
    LogConfig,
    RecordIn,
    encode_batch,
)
from mqlite.storage.filelog import CLEAN_MARKER
from mqlite.storage.index import OFFSET_ENTRY, TIME_ENTRY


def _fill(log, n, size=100, ts0=1000):
    for i in range(n):
        log.append([RecordIn(b"%d" % i, bytes([i % 256]) * size, (), ts0 + i)])


def _crash(log: FileLog) -> None:
    """Drop the log like a killed process would: fds closed, no clean-shutdown marker."""
    log.sync()
    for seg in log._segments:
        seg.index.persist()
        if seg.fd is not None:
            os.close(seg.fd)
            seg.fd = None
    log._closed = True


def test_segment_files_are_named_by_zero_padded_base_offset(tmp_path):
    log = FileLog(tmp_path, LogConfig(segment_bytes=1000))
    _fill(log, 30)
    log.close()
    logs = sorted(p.name for p in tmp_path.glob("*.log"))
    assert logs[0] == "00000000000000000000.log"
    assert all(len(n) == 24 for n in logs)
    bases = [int(n[:20]) for n in logs]
    assert bases == sorted(bases) and len(bases) > 3
    for b in bases:
        assert (tmp_path / f"{b:020d}.index").exists()
        assert (tmp_path / f"{b:020d}.timeindex").exists()


def test_segments_roll_by_size_and_never_exceed_it(tmp_path):
    log = FileLog(tmp_path, LogConfig(segment_bytes=1000))
    _fill(log, 50)
    for p in tmp_path.glob("*.log"):
        assert p.stat().st_size <= 1000
    assert [r.offset for r in log.read_records(0, 100)] == list(range(50))
    log.close()


def test_segments_roll_by_age_of_record_timestamps(tmp_path):
    """segment.ms: roll when a batch is newer than the segment's first by more than it."""
    log = FileLog(tmp_path, LogConfig(segment_ms=1000))
    log.append([RecordIn(None, b"a", (), 0)])
    log.append([RecordIn(None, b"b", (), 900)])
    assert log.segment_count == 1
    log.append([RecordIn(None, b"c", (), 1001)])
    assert log.segment_count == 2 and log.segment_bases() == [0, 2]
    log.close()


def test_offset_index_is_sparse_and_points_at_batches(tmp_path):
    log = FileLog(tmp_path, LogConfig(index_interval_bytes=1000))
    _fill(log, 100)  # ~170 bytes per batch
    log.close()
    data = (tmp_path / "00000000000000000000.index").read_bytes()
    entries = [e for e in OFFSET_ENTRY.iter_unpack(data)]
    assert 5 < len(entries) < 30
    seg = (tmp_path / "00000000000000000000.log").read_bytes()
    for rel, pos in entries:
        assert struct.unpack_from(">q", seg, pos)[0] == rel
    times = [
        t
        for t, _ in TIME_ENTRY.iter_unpack(
            (tmp_path / "00000000000000000000.timeindex").read_bytes()
        )
    ]
    assert times == sorted(set(times)) and times[-1] == 1099


def test_reads_by_offset_use_the_index_for_every_position(tmp_path):
    log = FileLog(tmp_path, LogConfig(segment_bytes=5000, index_interval_bytes=300))
    _fill(log, 200, size=20)
    for off in range(0, 200, 7):
        assert log.read_records(off, 1)[0].offset == off
    assert log.offset_for_timestamp(1000 + 123) == 123
    log.close()


def test_torn_tail_is_truncated_to_the_last_whole_batch(tmp_path):
    log = FileLog(tmp_path, LogConfig())
    _fill(log, 10)
    _crash(log)
    seg = tmp_path / "00000000000000000000.log"
    good = seg.stat().st_size
    extra = encode_batch([(None, b"torn" * 50)], base_offset=10, now_ms=1)
    with open(seg, "ab") as f:
        f.write(extra[: len(extra) // 2])
    log = FileLog(tmp_path, LogConfig())
    assert log.truncated_bytes == len(extra) // 2
    assert seg.stat().st_size == good
    assert log.end_offset == 10
    assert log.append([(None, b"next")], now_ms=5).base_offset == 10
    assert log.read_records(10)[0].value == b"next"
    log.close()


def test_crc_failing_tail_batch_is_truncated(tmp_path):
    log = FileLog(tmp_path, LogConfig())
    _fill(log, 10)
    _crash(log)
    seg = tmp_path / "00000000000000000000.log"
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF  # inside the last batch's records
    seg.write_bytes(bytes(data))
    log = FileLog(tmp_path, LogConfig())
    assert log.end_offset == 9
    assert [r.offset for r in log.read_records(0, 100)] == list(range(9))
    log.close()


def test_missing_or_stale_indexes_are_rebuilt(tmp_path):
    cfg = LogConfig(segment_bytes=3000, index_interval_bytes=200)
    log = FileLog(tmp_path, cfg)
    _fill(log, 100)
    log.close()
    idx = sorted(tmp_path.glob("*.index"))
    idx[0].unlink()  # missing
    idx[1].write_bytes(OFFSET_ENTRY.pack(5, 999999))  # stale: points past the file
    idx[2].write_bytes(b"\x01\x02\x03")  # not whole entries
    for p in (tmp_path / CLEAN_MARKER,):
        p.unlink()  # unclean open checks every index
    log = FileLog(tmp_path, cfg)
    for off in range(100):
        assert log.read_records(off, 1)[0].offset == off
    log.close()
    assert len(idx[0].read_bytes()) % 8 == 0 and idx[0].stat().st_size > 0
    assert OFFSET_ENTRY.unpack(idx[1].read_bytes()[:8]) != (5, 999999)


def test_index_missing_after_clean_shutdown_is_rebuilt_on_first_use(tmp_path):
    cfg = LogConfig(segment_bytes=3000, index_interval_bytes=200)
    log = FileLog(tmp_path, cfg)
    _fill(log, 60)
    log.close()
    min(tmp_path.glob("*.index")).unlink()
    log = FileLog(tmp_path, cfg)
    assert [r.offset for r in log.read_records(0, 60)] == list(range(60))
    log.close()


def test_corrupt_middle_segment_is_reported_with_path_and_offset(tmp_path):
    """Never silently skipped: a middle segment that is not whole batches raises."""
    cfg = LogConfig(segment_bytes=2000)
    log = FileLog(tmp_path, cfg)
    _fill(log, 60)
    _crash(log)
    middle = sorted(tmp_path.glob("*.log"))[1]
    before = middle.read_bytes()
    data = bytearray(before)
    data[16 + 200] = (
        9  # not a batch boundary necessarily; ensure at least one header breaks
    )
    pos = 0
    hits = 0
    while pos < len(data):  # break the magic of the third batch
        length = struct.unpack_from(">i", data, pos + 8)[0]
        if hits == 2:
            data[pos + 16] = 7
            break
        hits += 1
        pos += length + 12
    middle.write_bytes(bytes(data))
    with pytest.raises(CorruptSegment) as info:
        FileLog(tmp_path, cfg)
    assert info.value.path == middle
    assert info.value.position == pos
    assert str(middle) in str(info.value)
    assert middle.read_bytes() == bytes(data)  # left exactly as it was


def test_crc_corruption_in_a_middle_segment_is_reported_on_read(tmp_path):
    cfg = LogConfig(segment_bytes=2000)
    log = FileLog(tmp_path, cfg)
    _fill(log, 60)
    log.close()
    middle = sorted(tmp_path.glob("*.log"))[1]
    data = bytearray(middle.read_bytes())
    data[100] ^= 0xFF
    middle.write_bytes(bytes(data))
    log = FileLog(tmp_path, cfg)
    base = int(middle.stem)
    with pytest.raises(CorruptSegment) as info:
        log.read_records(base, 1000)
    assert info.value.path == middle
    assert (info.value.position, info.value.offset) == (0, base)
    log.close()


def test_clean_shutdown_marker_is_written_on_close_and_removed_on_open(tmp_path):
    log = FileLog(tmp_path)
    _fill(log, 3)
    log.close()
    assert (tmp_path / CLEAN_MARKER).exists()
    log = FileLog(tmp_path)
    assert not (tmp_path / CLEAN_MARKER).exists()
    assert log.end_offset == 3
    log.close()


def test_start_offset_survives_reopen(tmp_path):
    log = FileLog(tmp_path, LogConfig(segment_bytes=500))
    _fill(log, 20)
    log.delete_before(7)
    log.close()
    log = FileLog(tmp_path, LogConfig(segment_bytes=500))
    assert log.start_offset == 7
    assert log.read_records(7, 1)[0].offset == 7
    log.close()


def test_empty_directory_after_full_deletion_reopens_at_the_same_offsets(tmp_path):
    log = FileLog(tmp_path)
    _fill(log, 5)
    log.delete_before(5)
    log.close()
    log = FileLog(tmp_path)
    assert (log.start_offset, log.end_offset) == (5, 5)
    assert log.append([(None, b"x")], now_ms=1).base_offset == 5
    log.close()


def test_fsync_always_resolves_durability_after_a_shared_fsync(tmp_path):
    """Group commit: concurrent appends share fsyncs; each future resolves after one."""
    import threading

    with GroupCommitter("always") as committer:
        log = FileLog(tmp_path, LogConfig(), committer)
        futures = []
        lock = threading.Lock()

        def worker():
            for _ in range(50):
                f = log.append([(None, b"x" * 100)], now_ms=1).durable
                with lock:
                    futures.append(f)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for f in futures:
            f.result(10)
        assert len(futures) == 200
        assert committer.syncs < 200
        log.close()


@pytest.mark.parametrize("policy", ["never", "50"])
def test_fsync_never_and_interval_acknowledge_at_once(tmp_path, policy):
    with GroupCommitter(policy) as committer:
        log = FileLog(tmp_path, LogConfig(), committer)
        res = log.append([(None, b"x")], now_ms=1)
        assert res.durable.done()
        log.close()


def test_logs_larger_than_the_loaded_segment_limit_keep_few_files_open(tmp_path):
    """Memory and file handles stay flat: only a few inactive segments stay loaded."""
    log = FileLog(tmp_path, LogConfig(segment_bytes=400))
    _fill(log, 100)
    for off in range(0, 100, 3):
        log.read_records(off, 1)
    open_fds = sum(1 for s in log._segments if s.fd is not None)
    assert log.segment_count > 20 and open_fds <= 5
    log.close()


def _disk(directory: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.suffix == ".log"
    }


def test_refused_appends_leave_the_files_exactly_as_they_were(tmp_path):
    """Bad input: empty, malformed, CRC-failing and too-large batches change no byte on disk."""
    from mqlite.storage import InvalidBatch, RecordTooLarge

    log = FileLog(tmp_path, LogConfig(max_batch_bytes=1000))
    _fill(log, 5)
    log.flush()
    before = _disk(tmp_path)
    good = encode_batch([(None, b"ok")], now_ms=1)
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 1
    for raw in (b"", b"\x00" * 70, bytes(bad_crc), good + b"\x00" * 5):
        with pytest.raises(InvalidBatch):
            log.append_batch(raw)
    with pytest.raises(RecordTooLarge):
        log.append([(None, b"x" * 2000)], now_ms=1)
    log.flush()
    assert _disk(tmp_path) == before
    assert log.end_offset == 5
    log.close()


def _produce(log, pid, epoch, seq, n=2):
    return log.append(
        [(None, b"p")] * n,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        now_ms=1,
    )


def test_producer_state_survives_clean_reopen_via_snapshot(tmp_path):
    """Kafka idempotence: last sequence per producer id is known again after a restart."""
    from mqlite.storage.filelog import PRODUCER_SNAPSHOT

    log = FileLog(tmp_path, LogConfig(segment_bytes=500))
    for i in range(6):
        _produce(log, 7, 0, 2 * i)
    assert log.producer_state(7).last_sequence == 11
    log.close()
    assert (tmp_path / PRODUCER_SNAPSHOT).exists()
    log = FileLog(tmp_path, LogConfig(segment_bytes=500))
    _produce(log, 8, 3, 0)  # appended before the state is first asked for
    st7, st8 = log.producer_state(7), log.producer_state(8)
    assert (st7.producer_epoch, st7.last_sequence, st7.last_offset) == (0, 11, 11)
    assert len(st7.batches) == 5
    assert (st8.producer_epoch, st8.last_sequence, st8.last_offset) == (3, 1, 13)
    log.close()


def test_producer_state_is_rebuilt_from_headers_after_a_crash(tmp_path):
    log = FileLog(tmp_path)
    _produce(log, 1, 0, 0)
    log.producer_states()
    _produce(log, 1, 0, 2)
    _produce(log, 2, 5, 10, n=3)
    _crash(log)
    log = FileLog(tmp_path)
    st = log.producer_states()
    assert (st[1].last_sequence, st[1].last_offset) == (3, 3)
    assert (st[2].producer_epoch, st[2].last_sequence, st[2].last_offset) == (5, 12, 6)
    log.close()


def test_a_snapshot_ahead_of_the_data_is_ignored(tmp_path):
    import json

    from mqlite.storage.filelog import PRODUCER_SNAPSHOT

    log = FileLog(tmp_path)
    _produce(log, 1, 0, 0)
    log.producer_states()
    log.close()
    (tmp_path / PRODUCER_SNAPSHOT).write_text(
        json.dumps({"version": 1, "offset": 999, "producers": [[9, 0, 5, 900, 1, []]]})
    )
    log = FileLog(tmp_path)
    assert set(log.producer_states()) == {1}
    log.close()


def test_truncating_a_torn_tail_is_logged_with_file_offset_and_bytes(tmp_path, caplog):
    """#26 item 7: a torn tail cut at start is never silent."""
    log = FileLog(tmp_path, LogConfig())
    _fill(log, 10)
    _crash(log)
    seg = tmp_path / "00000000000000000000.log"
    good = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(b"\x00" * 77)
    with caplog.at_level("WARNING", logger="mqlite.storage"):
        FileLog(tmp_path, LogConfig()).close()
    [line] = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert str(seg) in line and f"at byte {good} (offset 10)" in line and "77 bytes dropped" in line


def test_a_plausible_but_wrong_index_is_detected_and_rebuilt_on_seek(tmp_path, caplog):
    """#26 item 8: a sorted .index whose entries point at the wrong batches must not
    make seeks land on the wrong records; the entry is checked against the segment."""
    import struct

    cfg = LogConfig(index_interval_bytes=100, segment_bytes=2000)
    log = FileLog(tmp_path, cfg)
    _fill(log, 50, size=40)
    assert log.segment_count > 1  # the first segment is inactive: its index is trusted
    log.close()
    index = tmp_path / "00000000000000000000.index"
    entries = [struct.unpack(">II", index.read_bytes()[i : i + 8]) for i in range(0, index.stat().st_size, 8)]
    assert len(entries) >= 3
    # shift offsets by -5: still strictly increasing, each entry names a batch 5 offsets
    # before the one at its position, so a seek to those offsets lands too late
    index.write_bytes(b"".join(struct.pack(">II", rel - 5, pos) for rel, pos in entries if rel >= 5))
    log = FileLog(tmp_path, cfg)
    with caplog.at_level("WARNING", logger="mqlite.storage"):
        for off in range(50):
            assert log.read_records(off, 1)[0].offset == off
    assert any("rebuilt" in r.getMessage() for r in caplog.records)
    log.close()
