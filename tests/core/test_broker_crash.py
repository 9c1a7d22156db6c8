"""SIGKILL durability for streams and committed offsets (issue #3: restart "clean or
SIGKILL"). A child process appends with fsync `always` and prints each acknowledged
(partition, offset) and each commit; the test kills it with SIGKILL mid-stream, reopens
the directory and checks that nothing acknowledged was lost.

Rule: with fsync "always", an append is acknowledged only after the fsync that covers
it, so every acknowledged record survives a crash; a committed offset is durable when
commit() returns (SQLite synchronous=FULL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.config import CoreConfig

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from mqlite.core.broker import BrokerCore
    from mqlite.core.config import CoreConfig

    async def main():
        core = await BrokerCore.open(Path(sys.argv[1]), CoreConfig(fsync="always"))
        s = core.stream("crash", partitions=2)
        g = core.groups.get("g")
        i = 0
        while True:
            p, o = await s.append(b"v%d" % i, key=b"k%d" % i)
            print("A", p, o, i, flush=True)
            if i % 10 == 9:
                g.commit("crash", p, o + 1)
                print("C", p, o + 1, flush=True)
            i += 1

    asyncio.run(main())
    """
)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_acknowledged_appends_and_commits_survive_sigkill(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    acked: dict[tuple[int, int], int] = {}
    commits: dict[int, int] = {}
    assert child.stdout is not None
    try:
        for line in child.stdout:
            kind, *fields = line.split()
            if kind == "A":
                p, o, i = map(int, fields)
                acked[(p, o)] = i
            else:
                p, o = map(int, fields)
                commits[p] = o
            if len(acked) >= 150:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    async def check() -> None:
        core = await BrokerCore.open(tmp_path, CoreConfig(fsync="always", maintenance_interval=0))
        s = core.get_stream("crash")
        for p in range(2):
            stored = {r.offset: r.value for r in s.read(p, 0, 10_000)}
            for (ap, offset), i in acked.items():
                if ap == p:
                    assert stored.get(offset) == b"v%d" % i
        g = core.groups.get("g")
        for p, offset in commits.items():
            c = g.committed("crash", p)
            assert c is not None and c.offset >= offset
        await core.close()

    asyncio.run(check())
