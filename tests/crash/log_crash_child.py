"""Child process of test_log_crash.py: appends with fsync=always until killed.

Usage: python log_crash_child.py DATA_DIR
Holds the data-dir lock, runs 4 appending threads against one FileLog sharing one
GroupCommitter, and prints "<offset> <key>" on stdout (flushed) only after the append's
durability future resolved, i.e. after the fsync that covers it. The parent SIGKILLs it.
"""

from __future__ import annotations

import sys
import threading

from mqlite.storage import (
    FileLog,
    GroupCommitter,
    LogConfig,
    RecordIn,
    acquire_dir_lock,
)


def value_for(key: int) -> bytes:
    return (b"value-%d-" % key) * (1 + key % 37)


def main() -> None:
    data_dir = sys.argv[1]
    lock = acquire_dir_lock(data_dir)
    committer = GroupCommitter("always")
    log = FileLog(
        f"{data_dir}/log",
        LogConfig(segment_bytes=64 * 1024, index_interval_bytes=512),
        committer,
    )
    out_lock = threading.Lock()
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def worker(per_append: int) -> None:
        while True:
            with counter_lock:
                keys = [next(counter) for _ in range(per_append)]
            res = log.append(
                [
                    RecordIn(b"%d" % k, value_for(k), (("k", b"%d" % k),), None)
                    for k in keys
                ]
            )
            res.durable.result()
            with out_lock:
                for i, k in enumerate(keys):
                    sys.stdout.write(f"{res.base_offset + i} {k}\n")
                sys.stdout.flush()

    threads = [
        threading.Thread(target=worker, args=(1 + i % 3,), daemon=True)
        for i in range(4)
    ]
    print("ready", flush=True)  # before any ack line
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lock.release()


if __name__ == "__main__":
    main()
