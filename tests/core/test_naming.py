"""Name rules: SQS queue names (1-80 of [A-Za-z0-9_-], .fifo) and Kafka topic names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqlite.core.errors import InvalidName
from mqlite.core.naming import (
    is_fifo_name,
    is_valid_stream_name,
    validate_queue_name,
    validate_stream_name,
)


@pytest.mark.parametrize("name", ["a", "orders", "A-b_c-9", "x" * 80, "jobs.fifo", "y" * 75 + ".fifo"])
def test_valid_queue_names_are_accepted(name: str) -> None:
    """Rule (SQS CreateQueue): up to 80 alphanumerics, hyphens, underscores; FIFO ends .fifo."""
    assert validate_queue_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 81, "y" * 76 + ".fifo", "a b", "a.b", "é", "a/b", ".fifo", "q.FIFO"])
def test_invalid_queue_names_raise_naming_the_rule(name: str) -> None:
    """Rule (SQS): the .fifo suffix counts towards the 80 characters."""
    with pytest.raises(InvalidName) as err:
        validate_queue_name(name)
    assert "queue-name" in err.value.rule


def test_fifo_queue_must_have_the_suffix_and_standard_must_not() -> None:
    """Rule (SQS): "The name of a FIFO queue must end with the .fifo suffix"."""
    assert validate_queue_name("jobs.fifo", fifo=True) == "jobs.fifo"
    with pytest.raises(InvalidName, match="must end with the .fifo suffix"):
        validate_queue_name("jobs", fifo=True)
    with pytest.raises(InvalidName):
        validate_queue_name("jobs.fifo", fifo=False)
    assert is_fifo_name("jobs.fifo") and not is_fifo_name("jobs")


@pytest.mark.parametrize("name", ["t", "orders.v1", "my_topic-2", "a" * 249, "..."])
def test_valid_stream_names_follow_kafka_topic_rules(name: str) -> None:
    """Rule (Kafka Topic.validate): [a-zA-Z0-9._-], 1-249 characters."""
    assert validate_stream_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "a" * 250, "a b", "a/b", "a:b", "tópico"])
def test_invalid_stream_names_raise_naming_the_rule(name: str) -> None:
    """Rule (Kafka): not empty, not "." or "..", at most 249 legal characters."""
    with pytest.raises(InvalidName) as err:
        validate_stream_name(name)
    assert err.value.rule.startswith("stream-name")
    assert not is_valid_stream_name(name)


@given(st.text(alphabet="abcXYZ019._-", min_size=1, max_size=249))
def test_any_name_of_legal_characters_is_valid_unless_dot_or_dotdot(name: str) -> None:
    """Rule (Kafka): only "." and ".." are excluded among legal-character names."""
    assert is_valid_stream_name(name) == (name not in (".", ".."))
