"""QueueConfig: every documented range is enforced with a typed error naming the rule."""

from __future__ import annotations

import pytest

from mqlite.core.errors import InvalidValue
from mqlite.core.queue.config import QueueConfig, RedrivePolicy

BAD = [
    # (attributes, rule prefix) -- SQS SetQueueAttributes ranges, RabbitMQ queue arguments
    ({"visibility_timeout": -1}, "visibility_timeout"),
    ({"visibility_timeout": 43201}, "visibility_timeout"),
    ({"delay": 901}, "delay"),
    ({"delay": -0.5}, "delay"),
    ({"retention": 59}, "retention"),
    ({"retention": 1209601}, "retention"),
    ({"max_message_bytes": 1023}, "max_message_bytes"),
    ({"receive_wait": 21}, "receive_wait"),
    ({"redrive": {"dead_letter_target": "dlq", "max_receive_count": 0}}, "max_receive_count"),
    ({"redrive": {"dead_letter_target": "dlq", "max_receive_count": 1001}}, "max_receive_count"),
    ({"redrive": {"max_receive_count": 3}}, "redrive"),
    ({"dedup_scope": "messageGroup"}, "content_based_dedup"),  # FIFO-only attribute
    ({"fifo": True, "dedup_scope": "bogus"}, "dedup_scope"),
    ({"fifo": True, "fifo_throughput_limit": "x"}, "fifo_throughput_limit"),
    ({"max_priority": 256}, "max_priority"),
    ({"message_ttl_ms": -1}, "message_ttl_ms"),
    ({"max_length": -1}, "max_length"),
    ({"overflow": "drop-tail"}, "overflow"),
    ({"expires_ms": 0}, "expires_ms"),
    ({"redrive_allow_policy": {"permission": "byQueue"}}, "redrive_allow_policy"),
    ({"visibility_timeout": True}, "visibility_timeout"),
    ({"no_such_attribute": 1}, "queue-attributes"),
]


@pytest.mark.parametrize(("attributes", "rule"), BAD)
def test_out_of_range_attribute_raises_invalid_value_naming_the_rule(attributes: dict, rule: str) -> None:
    """Rule: each attribute's documented range (module docstring table)."""
    with pytest.raises(InvalidValue) as info:
        QueueConfig.from_attributes(**attributes)
    assert info.value.rule.startswith(rule)


def test_defaults_are_the_sqs_defaults() -> None:
    """SQS defaults: visibility 30 s, retention 4 days, max size 1 MiB, no delay."""
    c = QueueConfig()
    assert (c.visibility_timeout, c.retention, c.max_message_bytes, c.delay) == (30, 345600, 1048576, 0)


def test_catalog_form_round_trips() -> None:
    c = QueueConfig.from_attributes(
        fifo=True, content_based_dedup=True, visibility_timeout=10,
        redrive={"dead_letter_target": "d.fifo", "max_receive_count": 3},
        redrive_allow_policy={"permission": "byQueue", "source_queues": ["a.fifo"]},
    )
    assert QueueConfig.from_dict(c.to_dict()) == c
    assert c.redrive == RedrivePolicy("d.fifo", 3)
