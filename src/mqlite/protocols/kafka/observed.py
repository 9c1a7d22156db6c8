"""What the request hook (`protocols.observe`) is told about a Kafka request: the first
error code a response carries and the first topic or group a request names."""

from __future__ import annotations

from typing import Any

from mqlite.protocols.kafka.errors import ErrorCode

_NAMES = {int(code): code.name for code in ErrorCode}
_TOPIC_LISTS = ("TopicData", "Topics", "Topic", "Responses", "Results", "Partitions", "PartitionResponses",
                "PartitionData", "Groups")


def first_error(body: dict[str, Any], depth: int = 0) -> str | None:
    """The name of the first non-zero `ErrorCode` in `body` or its nested lists."""
    code = body.get("ErrorCode")
    if code:
        return _NAMES.get(code, str(code))
    if depth < 3:
        for key in _TOPIC_LISTS:
            items = body.get(key)
            if type(items) is list:
                for item in items:
                    if type(item) is dict:
                        found = first_error(item, depth + 1)
                        if found is not None:
                            return found
    return None


def entity_of(body: dict[str, Any]) -> str | None:
    """The group, else the first topic, a request names (only computed to log a line)."""
    group = body.get("GroupId")
    if isinstance(group, str):
        return group
    for key in ("TopicData", "Topics"):
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            first = items[0]
            name = first.get("Name", first.get("Topic"))
            if isinstance(name, str):
                return name
    return None
