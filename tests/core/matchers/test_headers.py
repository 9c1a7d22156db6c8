"""AMQP headers exchange matching as RabbitMQ implements it (rabbit_exchange_type_headers):
x-match all/any/all-with-x/any-with-x, type-class comparison, void means presence."""

from __future__ import annotations

import datetime
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.errors import InvalidPattern
from mqlite.core.matchers.headers import compile_headers, headers_match

CASES = [
    ({"x-match": "all", "format": "pdf", "type": "report"}, {"format": "pdf", "type": "report"}, True),
    ({"x-match": "all", "format": "pdf", "type": "report"}, {"format": "pdf"}, False),
    ({"x-match": "any", "format": "pdf", "type": "report"}, {"format": "pdf"}, True),
    ({"x-match": "any", "format": "pdf", "type": "report"}, {"format": "zip"}, False),
    # default x-match is all
    ({"format": "pdf", "type": "report"}, {"format": "pdf"}, False),
    ({"format": "pdf"}, {"format": "pdf", "extra": 1}, True),
    # no arguments: all matches everything, any matches nothing
    ({}, {}, True),
    ({"x-match": "any"}, {"a": 1}, False),
    # x- arguments are ignored by all/any ...
    ({"x-match": "all", "x-foo": "bar"}, {}, True),
    ({"x-match": "any", "x-foo": "bar", "a": 1}, {"a": 1}, True),
    # ... and matched by all-with-x / any-with-x
    ({"x-match": "all-with-x", "x-foo": "bar"}, {}, False),
    ({"x-match": "all-with-x", "x-foo": "bar"}, {"x-foo": "bar"}, True),
    ({"x-match": "any-with-x", "x-foo": "bar", "a": 1}, {"x-foo": "bar"}, True),
    ({"x-match": "any-with-x", "x-foo": "bar"}, {"x-foo": "baz"}, False),
    # type-correct comparison: type classes must agree
    ({"n": 1}, {"n": 1}, True),
    ({"n": 1}, {"n": "1"}, False),
    ({"n": 1}, {"n": 1.0}, False),
    ({"n": 1}, {"n": True}, False),
    ({"b": True}, {"b": True}, True),
    ({"b": True}, {"b": 1}, False),
    ({"s": "x"}, {"s": b"x"}, True),  # longstr either way
    ({"d": decimal.Decimal("1.5")}, {"d": decimal.Decimal("1.50")}, True),
    ({"d": decimal.Decimal("1.5")}, {"d": 1.5}, False),
    ({"t": datetime.datetime(2024, 1, 1)}, {"t": datetime.datetime(2024, 1, 1)}, True),
    ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
    ({"a": [1, "x"]}, {"a": ["1", "x"]}, False),
    ({"m": {"k": 1}}, {"m": {"k": 1}}, True),
    # void (None) pattern value: header presence only
    ({"flag": None}, {"flag": "anything"}, True),
    ({"flag": None}, {}, False),
    ({"x-match": "any", "flag": None, "a": 2}, {"flag": 0}, True),
    # absent headers table
    ({"a": 1}, None, False),
    (None, None, True),
]


@pytest.mark.parametrize(("args", "headers", "expected"), CASES)
def test_headers_table_matches_rabbitmq_rules(args, headers, expected: bool) -> None:
    assert headers_match(args, headers) is expected
    assert compile_headers(args)(headers) is expected


@pytest.mark.parametrize(
    ("xmatch", "message"),
    [
        ("some", 'Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x'),
        ("ALL", 'Invalid x-match field value <<"ALL">>; expected all, any, all-with-x, or any-with-x'),
    ],
)
def test_invalid_x_match_is_rejected_at_bind_time_with_rabbitmq_text(xmatch: str, message: str) -> None:
    """RabbitMQ rejects the binding (PRECONDITION_FAILED) with this text."""
    with pytest.raises(InvalidPattern) as err:
        compile_headers({"x-match": xmatch})
    assert err.value.message == message
    assert err.value.language == "headers"


def test_x_match_of_wrong_type_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match="Invalid x-match field type"):
        compile_headers({"x-match": 1})


def test_x_match_given_as_bytes_is_accepted() -> None:
    """pamqp may hand longstr values over as bytes."""
    assert compile_headers({"x-match": b"any", "a": 1})({"a": 1})


values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 2.5]),
    st.sampled_from(["a", "b"]), st.sampled_from([b"a", b"b"]),
)
names = st.sampled_from(["a", "b", "c", "x-a", "x-b"])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["all", "any", "all-with-x", "any-with-x"]),
       st.dictionaries(names, values, max_size=4),
       st.dictionaries(names, values.filter(lambda v: v is not None), max_size=5))
def test_compiled_headers_matcher_agrees_with_reference(xm, args, headers) -> None:
    """Property: compiled predicate == RabbitMQ-style fold reference."""
    a = {"x-match": xm, **args}
    assert compile_headers(a)(headers) == headers_match(a, headers)
