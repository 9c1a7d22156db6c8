"""SNS subscription filter policies (AWS SNS Developer Guide, "Amazon SNS message
filtering": attribute-based and payload-based filtering, operators, constraints)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.errors import InvalidPattern
from mqlite.core.matchers import sns_filter_matches
from mqlite.core.matchers.sns_filter import compile_sns_filter
from mqlite.core.message import Attribute

from .reference_content import ref_match


def S(v: str) -> dict[str, str]:
    return {"Type": "String", "Value": v}


def N(v: str) -> dict[str, str]:
    return {"Type": "Number", "Value": v}


def A(v: list) -> dict[str, str]:
    return {"Type": "String.Array", "Value": json.dumps(v)}


# The AWS guide's example message attributes
EXAMPLE = {
    "customer_interests": A(["soccer", "rugby", "hockey"]),
    "store": S("example_corp"),
    "event": S("order_placed"),
    "price_usd": N("210.75"),
    "encrypted": {"Type": "Binary", "Value": b"\x00"},
}

ATTRIBUTE_CASES = [
    # exact string; String.Array matches if any element matches
    ({"store": ["example_corp"]}, True),
    ({"store": ["other"]}, False),
    ({"customer_interests": ["rugby"]}, True),
    ({"customer_interests": ["baseball"]}, False),
    ({"store": ["example_corp"], "event": ["order_placed"]}, True),  # AND across keys
    ({"store": ["example_corp"], "event": ["order_cancelled"]}, False),
    ({"event": ["order_cancelled", "order_placed"]}, True),  # OR within a key
    # exact numeric and numeric ranges only against Number attributes
    ({"price_usd": [210.75]}, True),
    ({"price_usd": [{"numeric": ["=", 210.75]}]}, True),
    ({"price_usd": [{"numeric": [">", 100]}]}, True),
    ({"price_usd": [{"numeric": [">=", 0, "<", 100]}]}, False),
    ({"price_usd": [{"numeric": [">", 200, "<=", 210.75]}]}, True),
    ({"store": [{"numeric": [">", 0]}]}, False),
    ({"price_usd": ["210.75"]}, False),  # a string value never equals a Number
    # anything-but
    ({"store": [{"anything-but": ["example_corp"]}]}, False),
    ({"store": [{"anything-but": "other"}]}, True),
    ({"price_usd": [{"anything-but": [100, 500]}]}, True),
    ({"price_usd": [{"anything-but": [210.75]}]}, False),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, True),
    ({"event": [{"anything-but": {"prefix": "order_"}}]}, False),
    ({"event": [{"anything-but": {"suffix": "_placed"}}]}, False),
    ({"event": [{"anything-but": {"suffix": "_cancelled"}}]}, True),
    ({"customer_interests": [{"anything-but": ["rugby"]}]}, True),  # soccer is not rugby
    ({"missing": [{"anything-but": ["x"]}]}, False),  # needs the attribute
    # prefix / suffix / equals-ignore-case
    ({"event": [{"prefix": "order"}]}, True),
    ({"event": [{"prefix": "Order"}]}, False),
    ({"event": [{"suffix": "placed"}]}, True),
    ({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
    ({"store": [{"equals-ignore-case": "example"}]}, False),
    # exists
    ({"store": [{"exists": True}]}, True),
    ({"store": [{"exists": False}]}, False),
    ({"missing": [{"exists": False}]}, True),
    ({"missing": [{"exists": True}]}, False),
    ({"encrypted": [{"exists": True}]}, True),  # Binary attributes exist ...
    ({"encrypted": ["\x00"]}, False),  # ... but are never compared
    # $or
    ({"$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}, True),
    ({"store": ["example_corp"], "$or": [{"price_usd": [1]}, {"event": ["x"]}]}, False),
    # empty policy accepts everything
    ({}, True),
]


@pytest.mark.parametrize(("policy", "expected"), ATTRIBUTE_CASES)
def test_attribute_scope_operators(policy: dict, expected: bool) -> None:
    assert sns_filter_matches(policy, EXAMPLE, None) is expected


def test_cidr_matches_source_ip_attributes() -> None:
    """SNS "IP address matching": the cidr operator, IPv4 and IPv6."""
    attrs = {"source_ip": S("10.0.0.255"), "v6": S("2001:db8::1")}
    assert sns_filter_matches({"source_ip": [{"cidr": "10.0.0.0/24"}]}, attrs, None)
    assert not sns_filter_matches({"source_ip": [{"cidr": "10.0.1.0/24"}]}, attrs, None)
    assert sns_filter_matches({"v6": [{"cidr": "2001:db8::/32"}]}, attrs, None)
    assert not sns_filter_matches({"source_ip": [{"cidr": "2001:db8::/32"}]}, attrs, None)


def test_core_attribute_values_and_sqs_shape_are_accepted() -> None:
    """Attributes may be core Attributes or the SQS/SNS API shape (DataType/StringValue)."""
    policy = {"color": ["red"], "size": [{"numeric": [">", 3]}]}
    assert sns_filter_matches(policy, {"color": Attribute("String", "red"),
                                       "size": Attribute("Number", "4")}, None)
    assert sns_filter_matches(policy, {"color": {"DataType": "String", "StringValue": "red"},
                                       "size": {"DataType": "Number", "StringValue": "4"}}, None)
    assert not sns_filter_matches(policy, {"color": Attribute("String", "red"),
                                           "size": Attribute("Number", "not-a-number")}, None)


BODY = {
    "store": "example_corp",
    "event": "order_placed",
    "customer_interests": ["soccer", "rugby"],
    "price_usd": 210.75,
    "detail": {"origin": {"country": "DE", "ip": "10.1.2.3"}, "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 9}]},
    "nothing": None,
    "empty": "",
}

BODY_CASES = [
    ({"store": ["example_corp"]}, True),
    ({"price_usd": [210.75]}, True),
    ({"price_usd": ["210.75"]}, False),  # type-correct
    ({"customer_interests": ["rugby"]}, True),
    ({"detail": {"origin": {"country": ["DE"]}}}, True),  # nested keys
    ({"detail": {"origin": {"country": ["FR"]}}}, False),
    ({"detail": {"origin": {"ip": [{"cidr": "10.0.0.0/8"}]}}}, True),
    ({"detail": {"items": {"sku": ["B"], "qty": [{"numeric": [">", 5]}]}}}, True),
    ({"detail": {"items": {"sku": ["A"], "qty": [{"numeric": [">", 5]}]}}}, False),  # same element
    ({"nothing": [None]}, True),
    ({"empty": [""]}, True),
    ({"empty": [None]}, False),
    ({"missing": [{"exists": False}]}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"$or": [{"store": ["x"]}, {"detail": {"origin": {"country": ["DE"]}}}]}, True),
]


@pytest.mark.parametrize(("policy", "expected"), BODY_CASES)
def test_body_scope_operators_and_nested_keys(policy: dict, expected: bool) -> None:
    body = json.dumps(BODY)
    assert sns_filter_matches(policy, None, body, scope="MessageBody") is expected


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_body_scope_never_matches_a_body_that_is_not_a_json_object(body: bytes) -> None:
    """Payload-based filtering assumes a well-formed JSON object; others don't match."""
    assert not sns_filter_matches({"a": [{"exists": False}]}, None, body, scope="MessageBody")


P = "Invalid parameter: FilterPolicy: "

INVALID = [
    ({"a": "x"}, P + '"a" must be an object or an array'),
    ({"a": []}, P + "Empty arrays are not allowed"),
    ({"a": [{"prefix": 1}]}, P + "prefix match pattern must be a string"),
    ({"a": [{"suffix": None}]}, P + "suffix match pattern must be a string"),
    ({"a": [{"equals-ignore-case": 5}]}, P + "equals-ignore-case match pattern must be a string"),
    ({"a": [{"exists": "yes"}]}, P + "exists match pattern must be either true or false."),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, P + "Only one key allowed in match expression"),
    ({"a": [{"wildcard": "x*"}]}, P + "Unrecognized match type wildcard"),
    ({"a": [{"bogus": 1}]}, P + "Unrecognized match type bogus"),
    ({"a": [["nested"]]}, P + "Match value must be String, number, true, false, or null"),
    ({"a": [{"anything-but": {"wildcard": "x"}}]}, P + "Unsupported anything-but pattern: wildcard"),
    ({"a": [{"numeric": []}]}, P + "Invalid member in numeric match: ]"),
    ({"a": [{"numeric": [5]}]}, P + "Invalid member in numeric match: 5"),
    ({"a": [{"numeric": ["!", 5]}]}, P + "Unrecognized numeric range operator: !"),
    ({"a": [{"numeric": ["=", "5"]}]}, P + "Value of equals must be numeric"),
    ({"a": [{"numeric": [">", "x"]}]}, P + "Value of > must be numeric"),
    ({"a": [{"numeric": ["<", 1, ">", 0]}]}, P + "Too many elements in numeric expression"),
    ({"a": [{"numeric": [">", 0, "=", 1]}]}, P + "Bad numeric range operator: =")
    , ({"a": [{"numeric": [">", 5, "<", 1]}]}, P + "Bottom must be less than top"),
    ({"a": [{"numeric": [">", 0, "<", 5, 6]}]}, P + "Too many terms in numeric range expression"),
    ({"a": [{"cidr": "10.0.0.1"}]}, P + "Malformed CIDR, one '/' required"),
    ({"a": [{"cidr": "10.0.0.1/x"}]}, P + "Malformed CIDR, mask bits must be an integer"),
    ({"a": [{"cidr": "10.0.0.300/24"}]}, P + "Nonstandard IP address: 10.0.0.300"),
    ({k: ["v"] for k in "abcdef"}, P + "Filter policy can not have more than 5 keys"),
    ({"a": list(range(10)), "b": list(range(16))}, P + "Filter policy is too complex"),
    ([1, 2], P + "Filter policy must be a JSON object"),
]


@pytest.mark.parametrize(("policy", "message"), INVALID)
def test_invalid_policies_are_rejected_with_sns_error_text(policy, message: str) -> None:
    with pytest.raises(InvalidPattern) as err:
        compile_sns_filter(json.dumps(policy))
    assert err.value.message == message
    assert err.value.language == "sns"


def test_nested_policy_is_rejected_in_attribute_scope() -> None:
    with pytest.raises(InvalidPattern) as err:
        compile_sns_filter({"a": {"b": ["c"]}})
    assert err.value.message == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    compile_sns_filter({"a": {"b": ["c"]}}, scope="MessageBody")  # fine in body scope


def test_combination_limit_is_exactly_150() -> None:
    """Constraint: the product of the values per key must not exceed 150."""
    compile_sns_filter({"a": list(range(10)), "b": list(range(15))})  # 150: allowed
    with pytest.raises(InvalidPattern, match="too complex"):
        compile_sns_filter({"a": list(range(10)), "b": list(range(15)), "c": ["x", "y"]})


def test_nested_combinations_count_depth_as_aws_documents() -> None:
    """AWS's example: 4 values at depth 3 and 3 values at depth 2 make 3x4x2x3 = 72."""
    from mqlite.core.matchers.sns_filter import combinations

    policy = {"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]}}
    assert combinations(policy) == 72


def test_policy_over_256_kb_is_rejected() -> None:
    big = json.dumps({"a": ["x" * (256 * 1024)]})
    with pytest.raises(InvalidPattern) as err:
        compile_sns_filter(big)
    assert err.value.message == P + "Filter policy is too long"


def test_invalid_json_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match=r"^Invalid parameter: FilterPolicy: failed to parse JSON"):
        compile_sns_filter("{not json")


def test_unknown_scope_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match="FilterPolicyScope"):
        compile_sns_filter({}, scope="Body")


# -- property: compiled policy == slow reference interpreter --------------------------------

strings = st.sampled_from(["a", "ab", "B", "", "10.0.0.7", "xa"])
numbers = st.sampled_from([0, 1, 2.5, -3, 100])
scalars = st.one_of(strings, numbers)
match_values = st.one_of(
    scalars,
    st.builds(lambda s: {"prefix": s}, strings),
    st.builds(lambda s: {"suffix": s}, strings),
    st.builds(lambda s: {"equals-ignore-case": s}, strings),
    st.builds(lambda v: {"anything-but": v}, st.one_of(scalars, st.lists(scalars, min_size=1, max_size=3))),
    st.builds(lambda s: {"anything-but": {"prefix": s}}, strings),
    st.builds(lambda s: {"anything-but": {"suffix": s}}, strings),
    st.builds(lambda n: {"numeric": [">", n]}, numbers),
    st.builds(lambda n: {"numeric": [">=", n, "<", n + 50]}, numbers),
    st.builds(lambda n: {"numeric": ["=", n]}, numbers),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.just({"cidr": "10.0.0.0/24"}),
)
keys = st.sampled_from(["k1", "k2", "k3"])
flat_policies = st.dictionaries(keys, st.lists(match_values, min_size=1, max_size=3), max_size=3)


def _attr(v):
    if isinstance(v, list):
        return A(v)
    if isinstance(v, str):
        return S(v)
    return N(str(v))


attr_values = st.one_of(strings, numbers, st.lists(st.one_of(strings, numbers), max_size=3))


@settings(max_examples=300, deadline=None)
@given(flat_policies, st.dictionaries(keys, attr_values, max_size=3))
def test_attribute_scope_agrees_with_reference(policy, raw) -> None:
    attrs = {k: _attr(v) for k, v in raw.items()}
    # the reference sees attributes the way SNS compares them: Number -> number
    view = {k: (v if not isinstance(v, (int, float)) else float(v)) for k, v in raw.items()}
    assert compile_sns_filter(policy).matches(attrs) == ref_match(policy, view)


json_values = st.recursive(
    st.one_of(strings, numbers, st.none(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
nested_policies = st.recursive(
    flat_policies,
    lambda inner: st.dictionaries(keys, st.one_of(st.lists(match_values, min_size=1, max_size=2), inner),
                                  min_size=1, max_size=2),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(nested_policies, st.dictionaries(keys, json_values, max_size=3))
def test_body_scope_agrees_with_reference(policy, body) -> None:
    try:
        compiled = compile_sns_filter(policy, scope="MessageBody")
    except InvalidPattern:
        return  # over the documented limits: nothing to compare
    assert compiled.matches(None, json.dumps(body)) == ref_match(policy, body)


# The corners issue #20 names, for the operators SNS shares with EventBridge (SNS
# developer guide, "Amazon SNS message filtering": prefix and suffix match string values,
# numeric matches numbers, an array matches when any element matches, anything-but
# excludes the values or the prefix/suffix given), in the MessageBody scope.
SNS_CORNERS = [
    ({"n": [{"prefix": "1"}]}, {"n": 12}, False),
    ({"n": [{"suffix": "2"}]}, {"n": 12}, False),
    ({"n": [{"equals-ignore-case": "12"}]}, {"n": 12}, False),
    ({"s": [{"prefix": "1"}]}, {"s": "12"}, True),
    ({"a": [{"anything-but": ["x", "y"]}]}, {"a": ["x", "y"]}, False),
    ({"a": [{"anything-but": ["x"]}]}, {"a": ["x", "z"]}, True),
    ({"a": [{"anything-but": {"prefix": "in"}}]}, {"a": "init"}, False),
    ({"a": [{"anything-but": {"suffix": ".png"}}]}, {"a": "x.jpg"}, True),
    ({"a": [{"numeric": [">", 5]}]}, {"a": "6"}, False),
    ({"a": [{"exists": True}]}, {"a": {"b": 1}}, False),
    ({"$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]}, {"b": 6}, True),
]


@pytest.mark.parametrize(("policy", "body", "expected"), SNS_CORNERS)
def test_sns_body_filter_corners_shared_with_eventbridge(policy: dict, body: dict, expected: bool) -> None:
    assert compile_sns_filter(policy, "MessageBody").matches({}, body) is expected
