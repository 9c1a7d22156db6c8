"""Core streams benchmark: append + read through the embedded API in batches of 1,000.

    python benchmarks/core_stream_bench.py [--records 300000] [--batch 1000] [--size 100]
                                           [--fsync 1000] [--memory] [--repeat 3]

Each round appends one batch of `--batch` records (`Stream.append_batch`, keyless, one
partition) and reads it back (`Stream.read(..., max_records=batch)`), both through the
blocking `mqlite.Broker` (a thread hop per call). Reports records/s end to end (append
+ read, wall clock), each half alone, and records per CPU-second of the whole process
(less sensitive to other load on a shared machine); the best of `--repeat` runs is
reported. A tailing read is mostly served
from the partition's recent-append cache; the catch-up figure reads everything again
from offset 0, decoded from the log (RecordBatch v2). Target (issue #3): >= 300,000
records/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import mqlite


def run(path: Path | None, records: int, batch: int, size: int, fsync: str) -> dict[str, float]:
    payload = os.urandom(size)
    values = [payload] * batch
    rounds = max(1, records // batch)
    append_s = read_s = 0.0
    cpu0 = time.process_time()
    with mqlite.Broker(path, fsync=fsync) as broker:
        stream = broker.stream("bench")
        offset = 0
        for i in range(rounds):
            t0 = time.perf_counter()
            stream.append_batch(values, partition=0)
            t1 = time.perf_counter()
            got = stream.read(0, offset, max_records=batch)
            t2 = time.perf_counter()
            assert len(got) == batch and got[0].offset == offset, (len(got), offset)
            offset += batch
            append_s += t1 - t0
            read_s += t2 - t1
            if (i + 1) % max(1, rounds // 5) == 0:
                done = (i + 1) * batch
                print(f"  {done:>9,} records  {done / (append_s + read_s):>11,.0f} rec/s", flush=True)
        cpu = time.process_time() - cpu0
        # catch-up: a consumer far behind reads everything from the start (decoded from
        # the log; only the last few thousand records are in the recent-append cache)
        t0 = time.perf_counter()
        pos = 0
        while pos < offset:
            pos += len(stream.read(0, pos, max_records=batch))
        catch_up_s = time.perf_counter() - t0
    n = rounds * batch
    return {
        "per_cpu_s": n / cpu,
        "catch_up": n / catch_up_s,
        "records": n,
        "end_to_end": n / (append_s + read_s),
        "append": n / append_s,
        "read": n / read_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--size", type=int, default=100, help="value bytes per record")
    ap.add_argument("--fsync", default="1000")
    ap.add_argument("--memory", action="store_true", help="in-memory broker only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode; the best is kept")
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")
    modes: list[tuple[str, Path | None]] = [("memory", None)]
    tmp = None
    if not args.memory:
        tmp = tempfile.TemporaryDirectory(prefix="mqlite-bench-")
        modes.append((f"disk fsync={args.fsync}", Path(tmp.name)))
    for label, path in modes:
        print(f"{label}: {args.records:,} records of {args.size} B, batches of {args.batch}")
        runs = []
        for i in range(args.repeat):
            run_path = None if path is None else path / f"run{i}"
            runs.append(run(run_path, args.records, args.batch, args.size, args.fsync))
        r = max(runs, key=lambda x: x["end_to_end"])
        print(
            f"{label}: best of {args.repeat}: end-to-end {r['end_to_end']:,.0f} rec/s "
            f"(append {r['append']:,.0f}/s, read {r['read']:,.0f}/s); "
            f"{max(x['per_cpu_s'] for x in runs):,.0f} records per CPU-second; "
            f"catch-up read from offset 0: {max(x['catch_up'] for x in runs):,.0f} rec/s"
        )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
