"""SQS-shaped attributes -> AMQP headers (docs/amqp-mapping.md "SQS -> AMQP").

Rules checked: an SQS Number (up to 38 digits, SQS message-attribute docs) reaches an
AMQP reader exactly — int within int64 (long long), else AMQP decimal (scale <= 255,
unscaled value within int32), else its text — and no attribute value may make
`raw_properties_for` raise (a raise closes the connection and poisons the queue).
"""

from __future__ import annotations

import decimal

from hypothesis import given
from hypothesis import strategies as st

from mqlite.core.message import Attribute, Message
from mqlite.protocols.amqp.properties import (
    decode_properties,
    number_value,
    raw_properties_for,
)


def _message(attrs: dict[str, Attribute]) -> Message:
    return Message(id="m", body=b"", attributes=attrs, meta={}, receipt="r", receive_count=1,
                   sent_timestamp=1_700_000_000_000, first_receive_timestamp=0)


def test_integral_numbers_within_int64_are_ints() -> None:
    assert number_value("42") == 42 and isinstance(number_value("42"), int)
    assert number_value("-9223372036854775808") == -(1 << 63)
    assert number_value("1E2") == 100


def test_fractional_numbers_are_amqp_decimals_when_they_fit() -> None:
    assert number_value("1.5") == decimal.Decimal("1.5")
    assert isinstance(number_value("-0.001"), decimal.Decimal)


def test_numbers_beyond_int64_or_amqp_decimal_are_their_text() -> None:
    assert number_value("123456789012345678901234567890") == "123456789012345678901234567890"
    assert number_value("1e100") == "1e100"
    assert number_value("1.23456789012345") == "1.23456789012345"  # unscaled > int32
    assert number_value("not a number") == "not a number"


def test_number_headers_round_trip_through_the_property_block() -> None:
    raw = raw_properties_for(_message({
        "a": Attribute("Number", "1.5"), "b": Attribute("Number", "9223372036854775807"),
        "c": Attribute("Number", "1e100"), "d": Attribute("Binary", b"\x00"),
    }))
    headers = decode_properties(raw).headers
    assert headers == {"a": decimal.Decimal("1.5"), "b": (1 << 63) - 1, "c": "1e100", "d": b"\x00"}


@given(st.dictionaries(
    st.text(min_size=1, max_size=300),
    st.builds(Attribute, st.sampled_from(["String", "Number", "Binary", "Number.x", "String.y"]),
              st.one_of(st.text(), st.binary(), st.decimals(allow_nan=True).map(str))),
    max_size=5))
def test_no_attribute_value_makes_delivery_properties_raise(attrs: dict[str, Attribute]) -> None:
    decode_properties(raw_properties_for(_message(attrs)))
