"""BindingIndex: indexed lookup (dict, trie, content hints) must equal a full scan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.errors import InvalidValue
from mqlite.core.matchers.index import (
    BindingIndex,
    MatcherKind,
    MessageView,
    check,
    compile_matcher,
    matcher_kind,
)
from mqlite.core.message import Attribute


@dataclass(frozen=True, eq=False)
class E:
    matcher: MatcherKind
    spec: Any
    seq: int
    args: dict = field(default_factory=dict)
    compiled: Any = None


def entry(kind: str, spec: Any, seq: int, **args: Any) -> E:
    k = MatcherKind(kind)
    return E(k, spec, seq, args, compile_matcher(k, spec, args))


def scan(entries: list[E], view: MessageView) -> list[E]:
    return [e for e in sorted(entries, key=lambda e: e.seq) if check(e, view)]


def test_index_returns_matches_in_binding_order_across_kinds() -> None:
    es = [
        entry("topic", "a.*", 3),
        entry("direct", "a.b", 1),
        entry("fanout", None, 2),
        entry("glob", "a?b", 4),
        entry("headers", {"x-match": "any", "h": 1}, 5),
        entry("sns", {"color": ["red"]}, 6),
        entry("event_pattern", {"detail": {"n": [{"numeric": [">", 1]}]}}, 7),
        entry("sns", {"detail": {"n": [2]}}, 8, scope="MessageBody"),
    ]
    idx = BindingIndex()
    for e in es:
        idx.add(e)
    view = MessageView("a.b", json.dumps({"detail": {"n": 2}}).encode(),
                       {"color": Attribute("String", "red")}, {"h": 1})
    got = idx.match(view)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert got == scan(es, view)
    for e in es:
        idx.remove(e)
    assert idx.match(view) == []


def test_unknown_matcher_kind_is_rejected() -> None:
    with pytest.raises(InvalidValue):
        matcher_kind("regex")


def test_a_malformed_body_fails_only_content_bindings() -> None:
    """A body that is not JSON never matches content patterns, others still match."""
    idx = BindingIndex()
    es = [entry("fanout", None, 1), entry("event_pattern", {"a": [{"exists": False}]}, 2)]
    for e in es:
        idx.add(e)
    assert [e.seq for e in idx.match(MessageView("", b"\xff not json", {}))] == [1]


values = st.sampled_from(["a", "b", "c", "ab", "abc", 1, 2])
prefixes = st.builds(lambda p: {"prefix": p}, st.sampled_from(["", "a", "ab", "b", "abcd"]))
sns_attr_policies = st.dictionaries(
    st.sampled_from(["k1", "k2"]),
    st.lists(st.one_of(values, st.just({"exists": True}), prefixes,
                       st.just({"anything-but": "a"})), min_size=1, max_size=3),
    max_size=2,
)
ep_policies = st.one_of(
    st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(values, min_size=1, max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(st.one_of(values, prefixes), min_size=1,
                                                           max_size=3), max_size=2),
    st.builds(lambda a, b: {"$or": [a, b]},
              st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(values, min_size=1, max_size=2),
                              min_size=1, max_size=1),
              st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(values, min_size=1, max_size=2),
                              min_size=1, max_size=1)),
    st.builds(lambda v: {"n": {"k1": v}}, st.lists(values, min_size=1, max_size=2)),
)


def _attr(v: Any) -> Attribute:
    return Attribute("String", v) if isinstance(v, str) else Attribute("Number", str(v))


@settings(max_examples=300, deadline=None)
@given(st.lists(sns_attr_policies, max_size=6), st.lists(ep_policies, max_size=6),
       st.dictionaries(st.sampled_from(["k1", "k2"]), values, max_size=2),
       st.dictionaries(st.sampled_from(["k1", "k2", "n"]),
                       st.one_of(values, st.lists(values, max_size=2),
                                 st.dictionaries(st.just("k1"), values)), max_size=3))
def test_indexed_lookup_equals_full_scan(sns_ps, ep_ps, attrs, body) -> None:
    es = [entry("sns", p, i) for i, p in enumerate(sns_ps)]
    es += [entry("event_pattern", p, 100 + i) for i, p in enumerate(ep_ps)]
    idx = BindingIndex()
    for e in es:
        idx.add(e)
    view = MessageView("", json.dumps(body).encode(), {k: _attr(v) for k, v in attrs.items()})
    assert idx.match(view) == scan(es, view)
    for e in es:
        idx.remove(e)
    assert idx._content == {} and idx._prefix_lens == {} and idx._scan == {}


def test_prefix_conditions_are_indexed_not_scanned() -> None:
    """EventBridge/SNS prefix filters (e.g. source prefix "aws.") are found by lookup."""
    idx = BindingIndex()
    es = [entry("event_pattern", {"source": [{"prefix": f"team{i}."}]}, i) for i in range(50)]
    for e in es:
        idx.add(e)
    assert idx._scan == {}
    view = MessageView("", json.dumps({"source": "team7.orders"}).encode(), {})
    assert [e.seq for e in idx.match(view)] == [7]
