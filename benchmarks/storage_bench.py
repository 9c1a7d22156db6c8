"""Storage engine benchmark (issue 2, section 5). Not a test: prints figures.

Measures, on one disk and in one run:
  raw      plain os.write() of the same 1 MiB batches (the physical reference), with no
           fsync and with an fsync after every write;
  (a)      FileLog.append_batch of pre-encoded 1 MiB batches of 100-byte records;
  (b)      FileLog.append of records built by the codec, 100 and 10,000 per batch;
           each of (a) and (b) with fsync `never`, `5` ms and `always` (appends issued
           back to back, durability awaited at the end: group commit at work);
  codec    encode_batch / decode_batch alone, 10,000-record batches of five shapes (the
           decoder's uniform-run fast path takes the first two);
  read     FileLog.read (1 MiB fetches) and read_records over the log (10,000 records
           per call, and 100 records from inside a batch);
  recovery open of a 1 GiB log after a crash (CRC scan of the tail) and after a clean close.

Usage: python benchmarks/storage_bench.py [--dir DIR] [--mib 128] [--recovery-gib 1] [--rounds 3]
       python benchmarks/storage_bench.py --codec-only   (codec + read_records rows, ~30 s)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mqlite.storage import (
    FileLog,
    GroupCommitter,
    LogConfig,
    decode_batch,
    encode_batch,
)
from mqlite.storage.filelog import CLEAN_MARKER

RECORD = b"x" * 100
MIB = 1024 * 1024


def one_mib_batch() -> tuple[bytes, int]:
    n = MIB // 110
    raw = encode_batch([(None, RECORD)] * n, now_ms=1_700_000_000_000)
    while len(raw) > MIB:
        n -= 50
        raw = encode_batch([(None, RECORD)] * n, now_ms=1_700_000_000_000)
    return raw, n


def rate(n: float, secs: float) -> str:
    return f"{n / secs:,.0f}"


def raw_write(directory: Path, batch: bytes, count: int, fsync_each: bool) -> float:
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t = time.perf_counter()
    for _ in range(count):
        os.write(fd, batch)
        if fsync_each:
            os.fsync(fd)
    el = time.perf_counter() - t
    os.close(fd)
    path.unlink()
    return el


def bench_preencoded(
    directory: Path, batch: bytes, count: int, policy: str, await_each: bool = False
) -> float:
    d = directory / f"pre-{policy}-{await_each}"
    with GroupCommitter(policy) as committer:
        log = FileLog(
            d, LogConfig(segment_bytes=512 * MIB, max_batch_bytes=2 * MIB), committer
        )
        t = time.perf_counter()
        last = None
        for _ in range(count):
            last = log.append_batch(batch)
            if await_each:
                last.durable.result()
        assert last is not None
        last.durable.result()
        el = time.perf_counter() - t
        log.close()
    shutil.rmtree(d)
    return el


def bench_codec_append(
    directory: Path, per_batch: int, total: int, policy: str
) -> float:
    d = directory / f"codec-{policy}-{per_batch}"
    records = [(None, RECORD)] * per_batch
    with GroupCommitter(policy) as committer:
        log = FileLog(
            d, LogConfig(segment_bytes=512 * MIB, max_batch_bytes=4 * MIB), committer
        )
        t = time.perf_counter()
        last = None
        for _ in range(total // per_batch):
            last = log.append(records, now_ms=1_700_000_000_000)
        assert last is not None
        last.durable.result()
        el = time.perf_counter() - t
        log.close()
    shutil.rmtree(d)
    return el


def codec_workloads() -> dict[str, list[tuple]]:
    """10,000-record batches: the uniform shape the fast path takes, and shapes it does not."""
    rng = random.Random(7)
    return {
        "100 B values, no key (uniform)": [(None, RECORD)] * 10_000,
        "16 B keys + 100 B values (uniform)": [(b"k" * 16, RECORD)] * 10_000,
        "Kinesis-like: 'pk-<random>' keys, 100 B values": [
            (b"pk-%d" % rng.randrange(1 << 30), RECORD) for _ in range(10_000)
        ],
        "keys + values of 20-400 B, varying timestamps": [
            (b"key%d" % i, b"v" * rng.randint(20, 400), (), 1_000 + i // 7)
            for i in range(10_000)
        ],
        "2 headers per record": [(b"k", RECORD, (("id", b"12345"), ("type", None)))]
        * 10_000,
    }


def measure(
    fn: Callable[[], object], per_call: int, rounds: int
) -> tuple[float, float]:
    """(best records/s wall clock, best records per CPU-second) over `rounds` 0.5 s runs."""
    best = best_cpu = 0.0
    for _ in range(rounds):
        n = 0
        t = time.perf_counter()
        c = time.process_time()
        while time.perf_counter() - t < 0.5:
            fn()
            n += 1
        best = max(best, n * per_call / (time.perf_counter() - t))
        best_cpu = max(best_cpu, n * per_call / max(time.process_time() - c, 1e-9))
    return best, best_cpu


def codec_rows(rounds: int) -> None:
    """encode_batch / decode_batch alone, per workload (wall and per CPU-second)."""
    for name, recs in codec_workloads().items():
        raw = encode_batch(recs, now_ms=1)
        for op, fn in (
            ("encode_batch", lambda: encode_batch(recs, now_ms=1)),  # noqa: B023
            ("decode_batch", lambda: decode_batch(raw)),  # noqa: B023
        ):
            wall, cpu = measure(fn, len(recs), rounds)
            print(
                f"codec {op} 10k/batch, {name} (best of {rounds}):"
                f" {wall:>11,.0f} rec/s wall, {cpu:>11,.0f} rec per CPU-second",
                flush=True,
            )


def read_records_rows(log: FileLog, rounds: int) -> None:
    """Log.read_records over a log of 1 MiB batches (9,482 records each), page cache."""
    end = min(log.end_offset, 300_000)

    def sequential() -> int:
        off = n = 0
        while off < end:
            got = log.read_records(off, 10_000)
            n += len(got)
            off = got[-1].offset + 1
        return n

    def small_reads() -> int:
        # 100 records from inside a batch (catch-up / queue scan / XRANGE shape)
        n = 0
        for off in range(37, end - 200, 3_001):
            n += len(log.read_records(off, 100))
        return n

    for name, fn in (
        ("read_records(offset, 10000) sequential", sequential),
        ("read_records(offset, 100) inside 1 MiB batches", small_reads),
    ):
        best = best_cpu = 0.0
        for _ in range(rounds):
            t = time.perf_counter()
            c = time.process_time()
            n = fn()
            best = max(best, n / (time.perf_counter() - t))
            best_cpu = max(best_cpu, n / max(time.process_time() - c, 1e-9))
        print(
            f"{name} (best of {rounds}): {best:>11,.0f} rec/s wall,"
            f" {best_cpu:>11,.0f} rec per CPU-second",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="directory on the disk to measure (default: a temp dir)",
    )
    ap.add_argument("--mib", type=int, default=128, help="MiB written per append case")
    ap.add_argument(
        "--records", type=int, default=1_000_000, help="records per codec-append case"
    )
    ap.add_argument("--recovery-gib", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3, help="alternating raw/ours rounds")
    ap.add_argument(
        "--codec-only", action="store_true", help="only the encode/decode rows"
    )
    args = ap.parse_args()
    if args.codec_only:
        codec_rows(args.rounds)
        root = Path(tempfile.mkdtemp(prefix="mqlite-bench-", dir=args.dir))
        try:
            batch, _per = one_mib_batch()
            log = FileLog(
                root, LogConfig(segment_bytes=256 * MIB, max_batch_bytes=2 * MIB)
            )
            for _ in range(32):
                log.append_batch(batch)
            read_records_rows(log, args.rounds)
            log.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return
    root = Path(tempfile.mkdtemp(prefix="mqlite-bench-", dir=args.dir))
    try:
        run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args: argparse.Namespace) -> None:
    batch, per = one_mib_batch()
    count = args.mib
    mib = len(batch) * count / MIB
    print(
        f"dir {root}; {count} batches of {len(batch)} bytes ({per} records of 100 B each)",
        flush=True,
    )

    # The machine is shared and noisy: raw and ours alternate, best of `rounds` each.
    rounds = args.rounds
    raw_el, ours_el = [], []
    for _ in range(rounds):
        raw_el.append(raw_write(root, batch, count, False))
        ours_el.append(bench_preencoded(root, batch, count, "never"))
    raw_mib_s = mib / min(raw_el)
    n_sync = min(count, 64)
    raw_sync_el, ours_sync_el = [], []
    for _ in range(rounds):
        raw_sync_el.append(raw_write(root, batch, n_sync, True))
        ours_sync_el.append(
            bench_preencoded(root, batch, n_sync, "always", await_each=True)
        )
    raw_fsync = len(batch) * n_sync / MIB / min(raw_sync_el)
    print(
        f"raw write(), no fsync (best of {rounds}):       {raw_mib_s:8.0f} MiB/s",
        flush=True,
    )
    print(
        f"raw write()+fsync each 1 MiB (best of {rounds}): {raw_fsync:8.0f} MiB/s",
        flush=True,
    )
    m = mib / min(ours_el)
    print(
        f"(a) pre-encoded 1 MiB, fsync  never (best of {rounds}): {m:8.0f} MiB/s"
        f"  {rate(count * per, min(ours_el)):>11} rec/s = {100 * m / raw_mib_s:5.1f}% of raw write()",
        flush=True,
    )
    for policy in ("5", "always"):
        el = bench_preencoded(root, batch, count, policy)
        m = mib / el
        print(
            f"(a) pre-encoded 1 MiB, fsync {policy:>6}, pipelined: {m:8.0f} MiB/s"
            f"  {rate(count * per, el):>11} rec/s = {100 * m / raw_mib_s:5.1f}% of raw write()",
            flush=True,
        )
    m = len(batch) * n_sync / MIB / min(ours_sync_el)
    print(
        f"(a) pre-encoded 1 MiB, fsync always, each append awaited (best of {rounds}): {m:8.0f} MiB/s"
        f" = {100 * m / raw_fsync:5.1f}% of raw write()+fsync",
        flush=True,
    )

    for per_batch in (100, 10_000):
        for policy in ("never", "5", "always"):
            total = (
                args.records
                if per_batch > 100 or policy != "always"
                else args.records // 5
            )
            el = min(
                bench_codec_append(root, per_batch, total, policy)
                for _ in range(args.rounds)
            )
            print(
                f"(b) codec, {per_batch:>6}/batch, fsync {policy:>6} (best of {args.rounds}):"
                f" {rate(total, el):>11} rec/s",
                flush=True,
            )

    codec_rows(args.rounds)

    # reads over a log of `count` MiB
    d = root / "read"
    log = FileLog(d, LogConfig(segment_bytes=256 * MIB, max_batch_bytes=2 * MIB))
    for _ in range(count):
        log.append_batch(batch)
    t = time.perf_counter()
    off = 0
    total_bytes = 0
    while off < log.end_offset:
        got = log.read(off, MIB)
        total_bytes += sum(map(len, got))
        off = (
            int.from_bytes(got[-1][0:8], "big")
            + int.from_bytes(got[-1][23:27], "big")
            + 1
        )
    el = time.perf_counter() - t
    print(
        f"read 1 MiB fetches:               {total_bytes / MIB / el:8.0f} MiB/s",
        flush=True,
    )
    read_records_rows(log, args.rounds)
    log.close()
    shutil.rmtree(d)

    # recovery of a log of --recovery-gib
    d = root / "recovery"
    gib_batches = int(args.recovery_gib * 1024)
    log = FileLog(d, LogConfig(segment_bytes=(1 << 31) - 1, max_batch_bytes=2 * MIB))
    for _ in range(gib_batches):
        log.append_batch(batch)
    size = log.size_bytes
    log.close()
    el_crash = 1e9
    for _ in range(args.rounds):
        (
            d / CLEAN_MARKER
        ).unlink()  # as after a crash: the tail is scanned with CRC-32C
        t = time.perf_counter()
        log = FileLog(
            d, LogConfig(segment_bytes=(1 << 31) - 1, max_batch_bytes=2 * MIB)
        )
        el_crash = min(el_crash, time.perf_counter() - t)
        assert log.truncated_bytes == 0
        log.close()
    t = time.perf_counter()
    log = FileLog(d, LogConfig(segment_bytes=(1 << 31) - 1, max_batch_bytes=2 * MIB))
    el_clean = time.perf_counter() - t
    log.close()
    print(
        f"recovery of {size / MIB / 1024:.2f} GiB after crash (CRC scan, best of {args.rounds}):"
        f" {el_crash:6.2f} s; after clean close: {el_clean:6.3f} s",
        flush=True,
    )
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
