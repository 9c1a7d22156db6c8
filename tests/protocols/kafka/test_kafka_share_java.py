# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Share groups (KIP-932) with the Java KafkaShareConsumer (kafka-clients 4.x), unmodified.

Rules checked: two share consumers of one group split one partition's records, each
record delivered once; with explicit acknowledgement a released record is delivered
again with delivery count 2, rejected and accepted records never again; a lease that
runs out (`kafka_share_record_lock_duration_ms`) goes to another member with a higher
delivery count, and after `kafka_share_delivery_count_limit` deliveries the record is
archived. Skips where there is no JDK or no jars (scripts/install-test-deps.sh).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from java_support import java_classes, kafka_tool, lines, missing, run_java
from kafka_support import kafka_factory

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture
def share_server(kafka_factory: Any) -> str:
    server = kafka_factory(kafka_share_auto_offset_reset="earliest", kafka_share_record_lock_duration_ms=1000,
                           kafka_share_delivery_count_limit=3)
    return f"127.0.0.1:{server.kafka_port}"


def _run(classes: Path, bootstrap: str, scenario: str) -> dict[str, str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(f"share-{scenario}", 1)]).values():
        f.result(10)
    out = run_java("ShareCheck", scenario, bootstrap, f"share-{scenario}", f"g-{scenario}", classes=classes)
    assert out.returncode == 0, out.stderr + out.stdout
    return lines(out.stdout)


def test_two_share_consumers_split_records(java_classes: Path, share_server: str) -> None:
    got = _run(java_classes, share_server, "split")
    assert got == {"distinct": "40", "each_once": "true", "both_got_records": "true"}


def test_release_redelivers_and_reject_archives(java_classes: Path, share_server: str) -> None:
    got = _run(java_classes, share_server, "ack-types")
    assert got == {"accept": "[1]", "release": "[1, 2]", "reject": "[1]", "last": "[1]"}


def test_lock_timeout_redelivers_until_the_delivery_limit(java_classes: Path, share_server: str) -> None:
    got = _run(java_classes, share_server, "lock-timeout")
    assert got == {"deliveries": "[1, 2, 3]"}


def test_kafka_share_groups_tool_lists_share_groups(java_classes: Path, share_server: str) -> None:
    """`kafka-share-groups.sh --list` (Admin.listGroups with the share type: ListGroups v5)."""
    _run(java_classes, share_server, "split")
    out = kafka_tool("org.apache.kafka.tools.consumer.group.ShareGroupCommand", "--bootstrap-server", share_server,
                     "--list")
    assert out.split() == ["g-split"]


def test_kafka_share_groups_tool_describes_members(java_classes: Path, share_server: str) -> None:
    """`kafka-share-groups.sh --describe --members` (Admin.describeShareGroups: ShareGroupDescribe)
    of a group whose members have left."""
    _run(java_classes, share_server, "split")
    out = run_java("org.apache.kafka.tools.consumer.group.ShareGroupCommand", "--bootstrap-server", share_server,
                   "--describe", "--group", "g-split", "--members")
    assert "has no active members" in out.stdout + out.stderr, out.stdout + out.stderr
