"""EventBridge event patterns (EventBridge User Guide: "Event patterns", "Content
filtering in event patterns", "Matching null values and empty strings", "Arrays")."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.errors import InvalidPattern
from mqlite.core.matchers import test_event_pattern as match_pattern
from mqlite.core.matchers.event_pattern import compile_event_pattern

from .reference_content import ref_match

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3.018e2,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "eventVersion": "",
        "responseElements": None,
        "flag": True,
        "filename": "reports/2024/summary.png",
        "tags": ["blue", "green"],
        "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 9}],
    },
}

CASES = [
    # exact matching; all fields must match; any value in a list
    ({"source": ["aws.ec2"]}, True),
    ({"source": ["aws.s3"]}, False),
    ({"source": ["aws.s3", "aws.ec2"]}, True),
    ({"source": ["aws.ec2"], "detail-type": ["nope"]}, False),
    ({"detail": {"state": ["terminated"]}}, True),
    ({"detail": {"c-count": [5]}}, True),
    ({"detail": {"c-count": ["5"]}}, False),  # strings never equal numbers
    ({"detail": {"d-count": [301.8]}}, True),  # numbers compare by value
    ({"detail": {"flag": [True]}}, True),
    ({"detail": {"flag": ["true"]}}, False),
    # arrays in the event: match if any element matches
    ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, True),
    ({"detail": {"tags": ["green"]}}, True),
    ({"detail": {"tags": ["red"]}}, False),
    ({"detail": {"items": {"sku": ["B"], "qty": [9]}}}, True),
    ({"detail": {"items": {"sku": ["A"], "qty": [9]}}}, False),
    # null and empty string are different values
    ({"detail": {"eventVersion": [""]}}, True),
    ({"detail": {"eventVersion": [None]}}, False),
    ({"detail": {"responseElements": [None]}}, True),
    ({"detail": {"responseElements": [""]}}, False),
    # prefix / suffix (with equals-ignore-case inside)
    ({"time": [{"prefix": "2017-12-22"}]}, True),
    ({"time": [{"prefix": "2018"}]}, False),
    ({"detail": {"filename": [{"suffix": ".png"}]}}, True),
    ({"detail": {"filename": [{"suffix": ".PNG"}]}}, False),
    ({"detail": {"filename": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}, True),
    ({"detail": {"filename": [{"prefix": {"equals-ignore-case": "REPORTS/"}}]}}, True),
    ({"detail": {"c-count": [{"prefix": "5"}]}}, False),  # prefix applies to strings
    # anything-but, all forms
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, True),
    ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, False),
    ({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}}, True),
    ({"detail": {"c-count": [{"anything-but": 5}]}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, True),
    ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": ["a", "term"]}}]}}, False),
    ({"detail": {"filename": [{"anything-but": {"suffix": ".txt"}}]}}, True),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}}, False),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "x"]}}]}}, True),
    ({"detail": {"filename": [{"anything-but": {"wildcard": "*.png"}}]}}, False),
    ({"detail": {"filename": [{"anything-but": {"wildcard": ["*.txt", "x*"]}}]}}, True),
    ({"detail": {"missing": [{"anything-but": "x"}]}}, False),  # needs a value
    ({"detail": {"tags": [{"anything-but": "blue"}]}}, True),  # green is not blue
    # numeric
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
    ({"detail": {"c-count": [{"numeric": [">", 5]}]}}, False),
    ({"detail": {"d-count": [{"numeric": ["<", 10]}]}}, False),
    ({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, True),
    ({"detail": {"state": [{"numeric": [">", 0]}]}}, False),
    # exists (leaf fields only)
    ({"detail": {"state": [{"exists": True}]}}, True),
    ({"detail": {"state": [{"exists": False}]}}, False),
    ({"detail": {"nope": [{"exists": False}]}}, True),
    ({"detail": {"nope": [{"exists": True}]}}, False),
    ({"detail": {"responseElements": [{"exists": True}]}}, True),  # null is a value
    ({"nowhere": {"deeper": [{"exists": False}]}}, True),
    # cidr
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
    # equals-ignore-case
    ({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, True),
    # wildcard
    ({"detail": {"filename": [{"wildcard": "reports/*/summary.png"}]}}, True),
    ({"detail": {"filename": [{"wildcard": "reports/*.txt"}]}}, False),
    ({"detail": {"filename": [{"wildcard": "*"}]}}, True),
    ({"source": [{"wildcard": "aws\\*ec2"}]}, False),  # escaped star is literal
    # $or
    ({"$or": [{"source": ["aws.s3"]}, {"detail": {"c-count": [{"numeric": [">", 1]}]}}]}, True),
    ({"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"account": ["1"]}]}, False),
    ({"detail": {"$or": [{"state": ["x"]}, {"flag": [True]}]}}, True),
    # an object where a leaf is expected (and vice versa) does not match
    ({"detail": ["x"]}, False),
    ({"source": {"x": ["aws.ec2"]}}, False),
    ({}, True),
]


@pytest.mark.parametrize(("pattern", "expected"), CASES)
def test_event_pattern_operators(pattern: dict, expected: bool) -> None:
    assert match_pattern(pattern, EVENT) is expected
    assert match_pattern(json.dumps(pattern), json.dumps(EVENT)) is expected


def test_escaped_star_matches_a_literal_star() -> None:
    assert match_pattern({"k": [{"wildcard": "a\\*b"}]}, {"k": "a*b"})
    assert not match_pattern({"k": [{"wildcard": "a\\*b"}]}, {"k": "axb"})


def test_ipv6_cidr() -> None:
    assert match_pattern({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::7"})


def test_non_object_events_do_not_match() -> None:
    pat = compile_event_pattern({"a": [{"exists": False}]})
    assert not pat.matches([1]) and not pat.matches("x") and not pat.matches(None)


R = "Event pattern is not valid. Reason: "

INVALID = [
    ([1], R + "Filter is not an object"),
    ({"source": "aws.ec2"}, R + '"source" must be an object or an array'),
    ({"source": []}, R + "Empty arrays are not allowed"),
    ({"a": [[1]]}, R + "Match value must be String, number, true, false, or null"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, R + "Only one key allowed in match expression"),
    ({"a": [{"unknown": 1}]}, R + "Unrecognized match type unknown"),
    ({"a": [{"prefix": 1}]}, R + "prefix match pattern must be a string"),
    ({"a": [{"equals-ignore-case": 1}]}, R + "equals-ignore-case match pattern must be a string"),
    ({"a": [{"exists": 1}]}, R + "exists match pattern must be either true or false."),
    ({"a": [{"numeric": "x"}]}, R + "Value of numeric must be an array."),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, R + "Bottom must be less than top"),
    ({"a": [{"numeric": ["=", 1, "<", 2]}]}, R + "Too many elements in numeric expression"),
    ({"a": [{"cidr": "bad"}]}, R + "Malformed CIDR, one '/' required"),
    ({"a": [{"wildcard": 5}]}, R + "wildcard match pattern must be a string"),
    ({"a": [{"wildcard": "a**b"}]}, R + "Consecutive wildcard characters at pos 2"),
    ({"a": [{"wildcard": "*a*b*c*d*e*f"}]}, R + "Rule is too complex - try using fewer wildcard"
     " characters or fewer repeating character sequences after a wildcard character"),
    ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, R + "Unsupported anything-but pattern: numeric"),
    ({"a": [{"anything-but": [True]}]}, R + "Inside anything but list, start|null|boolean is not supported."),
    ({"a": [{"anything-but": None}]}, R + "Value of anything-but must be an array or single string/number value."),
    ({"a": [{"anything-but": {"prefix": ""}}]}, R + "Null prefix/suffix not allowed"),
    ({"a": [{"anything-but": {"equals-ignore-case": 1}}]},
     R + "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID)
def test_invalid_patterns_raise_invalid_event_pattern_exception_text(pattern, message: str) -> None:
    with pytest.raises(InvalidPattern) as err:
        compile_event_pattern(json.dumps(pattern))
    assert err.value.message.split("\n at [Source:")[0] == message
    assert err.value.language == "event_pattern"


# Three answers of real EventBridge quoted in public reports (buildkite/docs#896 is
# multi-line; these are the one-line ones): the reason, then Jackson's position.
RECORDED = [
    ('{"detail-type":["Object Created"],"source":"aws.s3","detail":{"bucket":{"name":"sabi-test-bucket",'
     '"object":{"key":[{"prefix":"reach-query"},{"suffix":".json"}]}}}}',
     '"source" must be an object or an array', 1, 45),  # lalcebo/json-schema#171
    ('{"detail-type":["Object Created"],"source":["aws.s3"],"detail":{"bucket":{"name":'
     '"sampleappstack-bucket43879c71-1wm0hdcs3ct4o"}}}',
     '"name" must be an object or an array', 1, 83),  # awslabs/aws-ddk#149
    ('{"detail-type":[],"source":["example.source"],"account":["123456789012"]}',
     "Empty arrays are not allowed", 1, 18),  # aws/aws-cdk#36904
    ('{\n  "a": {\n    "b":   true\n  }\n}', '"b" must be an object or an array', 3, 16),
]


@pytest.mark.parametrize(("text", "reason", "line", "column"), RECORDED)
def test_structural_errors_carry_the_parsers_position_as_aws_words_it(
        text: str, reason: str, line: int, column: int) -> None:
    with pytest.raises(InvalidPattern) as err:
        compile_event_pattern(text)
    assert err.value.message == (f'Event pattern is not valid. Reason: {reason}\n at [Source: (String)"{text}"; '
                                 f"line: {line}, column: {column}]")


def test_a_long_pattern_is_quoted_truncated_as_jackson_does() -> None:
    text = json.dumps({"detail": {"k" * 600: "x"}})
    with pytest.raises(InvalidPattern) as err:
        compile_event_pattern(text)
    assert f'(String)"{text[:500]}"[truncated {len(text) - 500} chars]; line: 1, column: ' in err.value.message


def test_pattern_that_is_not_json_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match=r"^Event pattern is not valid\. Reason: "):
        match_pattern("{nope", {})


def test_event_that_is_not_json_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match="Parameter Event is not valid."):
        match_pattern({"a": ["b"]}, "{nope")


# -- property: compiled pattern == slow reference interpreter ----------------------------

strings = st.sampled_from(["a", "ab", "AB", "", "10.0.0.7", "xa", "a*b"])
numbers = st.sampled_from([0, 1, 2.5, -3, 100])
scalars = st.one_of(strings, numbers)
wild = st.sampled_from(["a*", "*b", "*", "x\\*", "a*b*"])
match_values = st.one_of(
    scalars, st.none(), st.booleans(),
    st.builds(lambda s: {"prefix": s}, strings),
    st.builds(lambda s: {"suffix": s}, strings),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, strings),
    st.builds(lambda s: {"equals-ignore-case": s}, strings),
    st.builds(lambda w: {"wildcard": w}, wild),
    st.builds(lambda v: {"anything-but": v}, st.one_of(scalars, st.lists(scalars, min_size=1, max_size=3))),
    st.builds(lambda s: {"anything-but": {"prefix": s}}, strings.filter(bool)),
    st.builds(lambda s: {"anything-but": {"suffix": s}}, strings.filter(bool)),
    st.builds(lambda s: {"anything-but": {"equals-ignore-case": s}}, strings),
    st.builds(lambda w: {"anything-but": {"wildcard": w}}, wild),
    st.builds(lambda n: {"numeric": [">", n]}, numbers),
    st.builds(lambda n: {"numeric": [">=", n, "<", n + 50]}, numbers),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.just({"cidr": "10.0.0.0/24"}),
)
keys = st.sampled_from(["k1", "k2", "k3"])
leaf = st.lists(match_values, min_size=1, max_size=3)
patterns = st.recursive(
    st.dictionaries(keys, leaf, max_size=3),
    lambda inner: st.one_of(
        st.dictionaries(keys, st.one_of(leaf, inner), min_size=1, max_size=3),
        st.builds(lambda bs, rest: {**rest, "$or": bs}, st.lists(inner, min_size=2, max_size=3),
                  st.dictionaries(keys, leaf, max_size=1)),
    ),
    max_leaves=5,
)
json_values = st.recursive(
    st.one_of(strings, numbers, st.none(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(patterns, st.dictionaries(keys, json_values, max_size=3))
def test_compiled_pattern_agrees_with_reference(pattern, event) -> None:
    assert compile_event_pattern(pattern).matches(event) == ref_match(pattern, event)


def test_wildcards_match_in_linear_time() -> None:
    """A hostile event string cannot make a five-star wildcard backtrack."""
    pat = compile_event_pattern({"k": [{"wildcard": "*a*a*a*a*b"}]})
    assert not pat.matches({"k": "a" * 100_000})
    assert pat.matches({"k": "xaxaxaxab"})


# The corners issue #20 names, each from a sentence of the EventBridge user guide
# ("Content filtering in Amazon EventBridge event patterns"):
# "You can use prefix matching for string values." / "... suffix matching for string
# values." / wildcard: "You can use wildcard matching ... with string values"; an array in
# the event matches "if the intersection of the event pattern array and the event array is
# non-empty"; "Exists matching only works on leaf nodes."
CORNERS = [
    ({"n": [{"prefix": "1"}]}, {"n": 12}, False),
    ({"n": [{"suffix": "2"}]}, {"n": 12}, False),
    ({"n": [{"wildcard": "1*"}]}, {"n": 12}, False),
    ({"n": [{"equals-ignore-case": "12"}]}, {"n": 12}, False),
    ({"s": [{"prefix": "1"}]}, {"s": "12"}, True),
    ({"a": [{"anything-but": ["x", "y"]}]}, {"a": ["x", "y"]}, False),  # no element outside the list
    ({"a": [{"anything-but": ["x"]}]}, {"a": ["x", "z"]}, True),  # "z" is anything but "x"
    ({"a": [{"anything-but": {"prefix": "in"}}]}, {"a": ["init", "done"]}, True),
    ({"a": [{"anything-but": {"suffix": ".png"}}]}, {"a": "x.png"}, False),
    ({"a": [{"anything-but": {"equals-ignore-case": "ON"}}]}, {"a": "on"}, False),
    ({"a": [{"anything-but": {"wildcard": "dir/*.png"}}]}, {"a": "dir/a.png"}, False),
    ({"a": [{"anything-but": {"wildcard": "dir/*.png"}}]}, {"a": "dir/a.jpg"}, True),
    ({"a": [{"exists": True}]}, {"a": {"b": 1}}, False),  # an object is not a leaf
    ({"a": [{"exists": True}]}, {"a": None}, True),  # null is a value
    ({"a": [None]}, {"a": None}, True),
    ({"a": [None]}, {}, False),  # null matches null, not a missing field
    ({"a": [""]}, {"a": None}, False),  # the empty string is not null
    ({"$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]}, {"b": 6}, True),
    ({"$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]}, {"b": "6"}, False),  # numeric needs numbers
]


@pytest.mark.parametrize(("pattern", "detail", "expected"), CORNERS)
def test_pattern_corners_from_the_user_guide(pattern: dict, detail: dict, expected: bool) -> None:
    event = {"id": "1", "account": "1", "source": "s", "time": "t", "region": "r", "detail-type": "d",
             "detail": detail}
    assert compile_event_pattern({"detail": pattern}).matches(event) is expected
