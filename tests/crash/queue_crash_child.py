"""Child process for test_queue_crash.py: works a queue under fsync=always and prints
each acknowledged operation (after it returned) until it is SIGKILLed.

Usage: python queue_crash_child.py <data_dir> <queue name>
Lines: "S <message id>" after `send` returned; "d <message id>" before `delete` is
called and "D <message id>" after it returned (a kill between the two may or may not
have made the delete durable: it was never acknowledged).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mqlite.core.broker import BrokerCore
from mqlite.core.config import CoreConfig
from mqlite.core.message import Envelope


async def main(data_dir: Path, name: str) -> None:
    core = await BrokerCore.open(data_dir, CoreConfig(fsync="always", maintenance_interval=0))
    attrs = {"fifo": True, "content_based_dedup": True} if name.endswith(".fifo") else {}
    q = core.queue(name, **attrs)
    out = sys.stdout
    n = 0
    while True:
        entries = [Envelope(f"m{n + i}".encode(), group_id=f"g{(n + i) % 3}") for i in range(5)]
        n += 5
        for r in await q.send_batch(entries):
            out.write(f"S {r.message_id}\n")  # type: ignore[union-attr]
        out.flush()
        got = await q.receive(4, visibility_timeout=30)
        for m in got[:3]:
            out.write(f"d {m.id}\n")
            out.flush()
            await q.delete(m.receipt)
            out.write(f"D {m.id}\n")
        out.flush()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
