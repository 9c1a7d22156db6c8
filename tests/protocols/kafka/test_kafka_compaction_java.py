# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Compaction configs from the Java AdminClient, and a Kafka Streams word count (state store,
repartition topic, compacted changelog, exactly_once_v2) on mqlite (java/CompactCheck.java)."""

from __future__ import annotations

from pathlib import Path

import pytest

from java_support import java_classes, lines, missing, run_java
from kafka_support import bootstrap, kafka, kafka_factory

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


def _run(classes: Path, *args: str) -> dict[str, str]:
    out = run_java("CompactCheck", *args, classes=classes, timeout=180)
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout[-4000:]
    return lines(out.stdout)


def test_java_admin_client_sets_compaction_configs(java_classes: Path, bootstrap: str) -> None:
    got = _run(java_classes, "admin", bootstrap)
    assert got == {"policy": "compact", "lag": "100", "tombstones": "1000", "altered": "compact,delete",
                   "bad": "InvalidConfigurationException"}


def test_kafka_streams_word_count_exactly_once(java_classes: Path, bootstrap: str, tmp_path: Path) -> None:
    got = _run(java_classes, "wordcount", bootstrap, str(tmp_path / "state"))
    assert got["counts"] == "brown:1,dog:2,fox:2,jumps:1,lazy:1,over:1,quick:3,the:4"
    assert got["changelog_exists"] == "true" and got["repartition_exists"] == "true"
    assert got["changelog_policy"] == "compact"
