"""Direct (exact routing key, AMQP direct exchange) and fanout (everything) matchers."""

from __future__ import annotations

import pytest

from mqlite.core.matchers.direct import compile_direct, direct_matches
from mqlite.core.matchers.fanout import compile_fanout


@pytest.mark.parametrize(
    ("binding", "key", "expected"),
    [("a", "a", True), ("a", "A", False), ("", "", True), ("", "a", False), ("a.b", "a.*", False)],
)
def test_direct_matches_only_the_identical_key(binding: str, key: str, expected: bool) -> None:
    """AMQP 0-9-1: a direct exchange routes when routing key == binding key."""
    assert compile_direct(binding)(key) is expected
    assert direct_matches(binding, key) is expected


def test_direct_binding_key_must_be_text() -> None:
    with pytest.raises(TypeError):
        compile_direct(b"a")  # type: ignore[arg-type]


def test_fanout_ignores_keys_and_matches_everything() -> None:
    """AMQP 0-9-1: a fanout exchange ignores the routing key."""
    pred = compile_fanout("ignored")
    assert pred("x") and pred("") and pred(None)
