# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""aiokafka and kcat against a real mqlite server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from kafka_support import bootstrap, kafka, kafka_factory


def test_aiokafka_producer_and_group_consumer(bootstrap: str) -> None:
    """aiokafka produces with keys and consumes in a group, committing offsets."""

    async def scenario() -> tuple[list[tuple[bytes, bytes]], dict[Any, Any]]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip")
        await producer.start()
        try:
            for i in range(50):
                await producer.send("aio", key=b"k%d" % (i % 3), value=b"a%d" % i)
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer("aio", bootstrap_servers=bootstrap, group_id="aio-group",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        got: list[tuple[bytes, bytes]] = []
        try:
            async with asyncio.timeout(30):
                while len(got) < 50:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        got.extend((r.key, r.value) for r in records)
            await consumer.commit()
            committed = {tp: await consumer.committed(tp) for tp in consumer.assignment()}
        finally:
            await consumer.stop()
        return got, committed

    got, committed = asyncio.run(scenario())
    assert sorted(v for _, v in got) == sorted(b"a%d" % i for i in range(50))
    assert sum(committed.values()) == 50


KCAT = shutil.which("kcat") or shutil.which("kafkacat")


@pytest.mark.skipif(KCAT is None, reason="kcat is not installed (Debian package kcat)")
def test_kcat_lists_metadata_produces_and_consumes(bootstrap: str) -> None:
    """kcat -L shows the broker and topics; -P produces lines; -C reads them back."""
    assert KCAT is not None
    produced = subprocess.run([KCAT, "-b", bootstrap, "-P", "-t", "lines", "-K:"],
                              input="k1:one\nk2:two\nk3:three\n", text=True, capture_output=True, timeout=60, check=False)
    assert produced.returncode == 0, produced.stderr
    listing = subprocess.run([KCAT, "-b", bootstrap, "-L"], text=True, capture_output=True, timeout=60, check=False)
    assert listing.returncode == 0, listing.stderr
    assert "1 brokers:" in listing.stdout and 'topic "lines"' in listing.stdout
    consumed = subprocess.run([KCAT, "-b", bootstrap, "-C", "-t", "lines", "-o", "beginning", "-e", "-f", "%k=%s\n"],
                              text=True, capture_output=True, timeout=60, check=False)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["k1=one", "k2=two", "k3=three"]
