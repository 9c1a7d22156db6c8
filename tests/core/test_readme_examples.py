"""The README's embedded examples, run exactly as written (issue #3 §4: "each example
runs as written"). Each function body below is the README snippet verbatim, with the
data directory made temporary; the test checks what the snippet prints."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_readme_queue_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule (issue #3 §4): queue send/receive/delete/counts through mqlite.Broker(path)."""
    monkeypatch.chdir(tmp_path)
    # --- README: queue -------------------------------------------------------------
    import mqlite

    with mqlite.Broker("data") as broker:
        jobs = broker.queue("jobs", visibility_timeout=30)
        jobs.send("resize photo 42", attributes={"width": 1024})
        for message in jobs.receive(max_messages=10, wait=5):
            print(message.body, message.attributes["width"].value, message.receive_count)
            jobs.delete(message.receipt)
        print(jobs.counts())
    # -------------------------------------------------------------------------------
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "b'resize photo 42' 1024 1",
        "QueueCounts(visible=0, in_flight=0, delayed=0)",
    ]


def test_readme_stream_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Rule (issue #3 §4): stream append/read/group commit through mqlite.Broker()."""
    # --- README: stream ------------------------------------------------------------
    import mqlite

    with mqlite.Broker() as broker:  # in memory
        clicks = broker.stream("clicks", partitions=3)
        partition, _ = clicks.append(b"/home", key="user-7")
        billing = clicks.group("billing")
        start = billing.committed(partition) or clicks.earliest(partition)
        for record in clicks.read(partition, start, max_records=100, wait=1.0):
            print(record.offset, record.key, record.value)
            billing.commit(partition, record.offset + 1)
        print(billing.committed(partition), clicks.latest(partition))
    # -------------------------------------------------------------------------------
    assert capsys.readouterr().out.splitlines() == ["0 b'user-7' b'/home'", "1 1"]


def test_readme_pubsub_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Rule (issue #3 §4, SNS filter policies): a topic fans out to its subscribers."""
    # --- README: publish/subscribe -------------------------------------------------
    import mqlite

    with mqlite.Broker() as broker:
        signups = broker.topic("signups")
        emails, audit = broker.queue("emails"), broker.stream("audit")
        signups.subscribe(emails, filter={"plan": ["pro"]})  # SNS filter policy
        signups.subscribe(audit)  # everything
        signups.publish("ada joined", attributes={"plan": "pro"})
        signups.publish("bob joined", attributes={"plan": "free"})
        print([m.body for m in emails.receive(max_messages=10)])
        print([r.value for r in audit.read(0, 0)])
    # -------------------------------------------------------------------------------
    assert capsys.readouterr().out.splitlines() == [
        "[b'ada joined']",
        "[b'ada joined', b'bob joined']",
    ]


def test_readme_async_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Rule (issue #3 §4): AsyncBroker has the same names, awaitable."""
    # --- README: asyncio -----------------------------------------------------------
    import asyncio

    import mqlite

    async def main() -> None:
        async with mqlite.AsyncBroker() as broker:
            orders = await broker.stream("orders")
            reader = asyncio.create_task(orders.read(0, 0, wait=5))  # long poll
            await orders.append(b'{"id": 1}', key=b"customer-3")
            print([r.value for r in await reader])

    asyncio.run(main())
    # -------------------------------------------------------------------------------
    assert capsys.readouterr().out.splitlines() == ["[b'{\"id\": 1}']"]
