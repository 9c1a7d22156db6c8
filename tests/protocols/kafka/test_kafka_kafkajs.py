# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""kafkajs (Node.js) as a user drives it: offset resets and the group coordinator.

Rules checked (Apache Kafka 4.x `OffsetMetadataManager.commitOffset` / `fetchOffsets`):
OffsetCommit stores the committed offset as sent, negative values too, and OffsetFetch
returns it unchanged; kafkajs's `admin.resetOffsets({earliest})` commits -2 (earliest)
or -1 (latest) and its consumers resolve those positions when they next join.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from kafka_support import bootstrap, kafka, kafka_factory

NODE_DIR = Path(__file__).parent / "node"
HAVE_KAFKAJS = shutil.which("node") is not None and (NODE_DIR / "node_modules" / "kafkajs").is_dir()
pytestmark = pytest.mark.skipif(not HAVE_KAFKAJS, reason="kafkajs not installed (scripts/install-test-deps.sh)")


def _node(script: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(["node", str(NODE_DIR / script), *args], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize(("where", "special"), [("earliest", -2), ("latest", -1)])
def test_reset_offsets_commits_kafkas_special_offsets(kafka: Any, bootstrap: str, where: str, special: int) -> None:
    """admin.resetOffsets commits -2 / -1: accepted and returned as sent (as Apache Kafka
    does); after an earliest reset the group reads everything again, after a latest one
    nothing, and other clients see the same committed value."""
    got = _node("reset_offsets.js", f"127.0.0.1:{kafka.kafka_port}", f"reset-{where}", where)
    values = [f"m{i}" for i in range(5)]
    assert got["first"] == values
    assert [(p["partition"], p["offset"]) for p in got["before"]] == [(0, "5")]
    assert [(p["partition"], p["offset"]) for p in got["after"]] == [(0, str(special))]
    assert got["again"] == (values if where == "earliest" else [])
    # after the earliest reset the group consumed again and committed 5; after the latest
    # one it read nothing, so -1 stays, which librdkafka reads as "no commit" (as from Kafka)
    group = kafka.core.groups.find("resetters")
    stored = kafka.call(lambda: group.committed(f"reset-{where}", 0).offset)
    assert stored == (5 if where == "earliest" else special)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "resetters"})
    try:
        [tp] = consumer.committed([TopicPartition(f"reset-{where}", 0)], timeout=10)
    finally:
        consumer.close()
    assert tp.offset == (5 if where == "earliest" else OFFSET_INVALID) and tp.error is None
