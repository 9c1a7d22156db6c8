"""BindingIndex: indexed lookup (dict, trie, content hints) must equal a full scan."""

from __future__ import annotations

import json
import math
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
from mqlite.core.matchers.ranges import RangeIndex
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


values = st.sampled_from(["a", "b", "c", "ab", "abc", "cab", 1, 2, 2.5, -1])
prefixes = st.builds(lambda p: {"prefix": p}, st.sampled_from(["", "a", "ab", "b", "abcd"]))
suffixes = st.builds(lambda p: {"suffix": p}, st.sampled_from(["", "b", "ab", "c", "xab"]))
bounds = st.sampled_from([-1, 0, 1, 2, 2.5, 3])
numerics = st.one_of(
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["<", "<=", "=", ">", ">="]),
              bounds),
    st.builds(lambda lo, w, op1, op2: {"numeric": [op1, lo, op2, lo + w]}, bounds,
              st.sampled_from([0.5, 1, 2]), st.sampled_from([">", ">="]),
              st.sampled_from(["<", "<="])),
)
indexable = st.one_of(values, prefixes, suffixes, numerics)
sns_attr_policies = st.dictionaries(
    st.sampled_from(["k1", "k2"]),
    st.lists(st.one_of(values, st.just({"exists": True}), prefixes, suffixes, numerics,
                       st.just({"anything-but": "a"})), min_size=1, max_size=3),
    max_size=2,
)
ep_policies = st.one_of(
    st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(values, min_size=1, max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["k1", "k2"]), st.lists(indexable, min_size=1,
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


attr_values = st.one_of(values, st.sampled_from([float("nan"), float("inf"), -float("inf")]))


@settings(max_examples=300, deadline=None)
@given(st.lists(sns_attr_policies, max_size=6), st.lists(ep_policies, max_size=6),
       st.dictionaries(st.sampled_from(["k1", "k2"]), attr_values, max_size=2),
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
    assert_empty(idx)


def assert_empty(idx: BindingIndex) -> None:
    assert idx._content == {} and idx._prefix_lens == {} and idx._scan == {}
    assert idx._suffix_lens == {} and idx._ranges == {} and idx._freq == {}
    assert idx._conds == {} and idx._chosen == {} and idx._repicked == {}


# Many bindings sharing fields (the EventBridge case: every rule on a bus names the
# same `source`): whatever condition each is filed under, and however often buckets are
# re-picked as they grow and shrink, lookup equals a full scan.
shared_patterns = st.builds(
    lambda src, kind, extra: {"source": [src], "detail": {"kind": kind, **extra}},
    st.sampled_from(["app.orders", "app.users"]),
    st.lists(indexable, min_size=1, max_size=2),
    st.dictionaries(st.sampled_from(["id", "n"]), st.lists(indexable, min_size=1, max_size=2),
                    max_size=2),
)
shared_events = st.builds(
    lambda src, kind, extra: {"source": src, "detail": {"kind": kind, **extra}},
    st.sampled_from(["app.orders", "app.users", "other"]),
    st.one_of(values, st.lists(values, max_size=2)),
    st.dictionaries(st.sampled_from(["id", "n"]), st.one_of(values, st.lists(values, max_size=2)),
                    max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(shared_patterns, min_size=1, max_size=40), st.lists(shared_events, min_size=1,
       max_size=4), st.data())
def test_indexed_lookup_equals_full_scan_with_many_bindings_sharing_fields(
    patterns, events, data
) -> None:
    """Content filtering semantics (AWS event patterns) do not depend on the index."""
    es = [entry("event_pattern", p, i) for i, p in enumerate(patterns)]
    idx = BindingIndex()
    for e in es:
        idx.add(e)
    gone = data.draw(st.sets(st.sampled_from(range(len(es)))))
    for i in sorted(gone):
        idx.remove(es[i])
    live = [e for i, e in enumerate(es) if i not in gone]
    for ev in events:
        view = MessageView("", json.dumps(ev).encode(), {})
        assert idx.match(view) == scan(live, view)
    for e in live:
        idx.remove(e)
    assert_empty(idx)


def test_rules_sharing_source_are_filed_under_their_rarest_condition() -> None:
    """100 rules on one bus share source and detail-type and differ in detail.id: each
    event is checked against the one rule with its id, not all 100."""
    idx = BindingIndex()
    es = [entry("event_pattern", {"source": ["app"], "detail-type": ["Order"],
                                  "detail": {"id": [f"o{i}"]}}, i) for i in range(100)]
    for e in es:
        idx.add(e)
    sizes = [len(m) for by_value in idx._content.values() for m in by_value.values()]
    assert max(sizes) == 1
    assert sum(sizes) == 100
    view = MessageView("", json.dumps({"source": "app", "detail-type": "Order",
                                       "detail": {"id": "o42"}}).encode(), {})
    assert [e.seq for e in idx.match(view)] == [42]


def test_bindings_filed_under_a_condition_that_became_common_move() -> None:
    """Rules filed under `type` while it was rare are re-filed once many rules share it,
    so an event is not checked against every rule of that type."""
    idx = BindingIndex()
    es = [entry("event_pattern", {"source": ["s"], "type": [f"t{i % 2}"]}, i) for i in range(16)]
    es += [entry("event_pattern", {"type": ["t0"], "x": [f"x{j}"]}, 100 + j) for j in range(100)]
    for e in es:
        idx.add(e)
    t0 = idx._content.get(("body", ("type",)), {}).get(("s", "t0"), {})
    assert len(t0) < 4
    view = MessageView("", json.dumps({"source": "s", "type": "t0", "x": "x5"}).encode(), {})
    assert [e.seq for e in idx.match(view)] == [*range(0, 16, 2), 105]
    assert idx.match(view) == scan(es, view)


def test_suffix_and_numeric_conditions_are_indexed_not_scanned() -> None:
    """SNS suffix-only and numeric-only filter policies are found by lookup (suffix by
    length, ranges in an interval tree), not evaluated one by one."""
    idx = BindingIndex()
    es = [entry("sns", {"customer": [{"suffix": f"-{i}"}]}, i) for i in range(50)]
    es += [entry("sns", {"price": [{"numeric": [">=", i, "<", i + 1]}]}, 100 + i)
           for i in range(50)]
    es.append(entry("sns", {"price": [{"numeric": ["=", 7]}]}, 200))
    for e in es:
        idx.add(e)
    assert idx._scan == {}
    view = MessageView("", b"{}", {"customer": Attribute("String", "cust-17"),
                                   "price": Attribute("Number", "7")})
    assert [e.seq for e in idx.match(view)] == [17, 107, 200]
    assert idx.match(view) == scan(es, view)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([-float("inf"), -2.0, 0.0, 1.0, 1.5, 3.0]),
                          st.sampled_from([0.0, 1.0, 2.0, 3.0, float("inf")])), max_size=30),
       st.lists(st.sampled_from([-3.0, -2.0, 0.0, 0.5, 1.0, 2.0, 3.0, 9.0, float("inf"),
                                 -float("inf"), float("nan")]), min_size=1, max_size=5),
       st.data())
def test_range_index_stab_finds_every_interval_containing_the_value(ivs, points, data) -> None:
    """The interval tree answers exactly the closed intervals holding a number (none for NaN)."""
    rng = RangeIndex()
    keys = {("r", lo, hi) for lo, hi in ivs if lo <= hi}
    for k in keys:
        rng.add(k)
    for k in data.draw(st.sets(st.sampled_from(sorted(keys)))) if keys else ():
        rng.discard(k)
        keys.discard(k)
    for v in points:
        want = set() if math.isnan(v) else {k for k in keys if k[1] <= v <= k[2]}
        got = rng.stab(v)
        assert len(got) == len(set(got)) and set(got) == want


def test_prefix_conditions_are_indexed_not_scanned() -> None:
    """EventBridge/SNS prefix filters (e.g. source prefix "aws.") are found by lookup."""
    idx = BindingIndex()
    es = [entry("event_pattern", {"source": [{"prefix": f"team{i}."}]}, i) for i in range(50)]
    for e in es:
        idx.add(e)
    assert idx._scan == {}
    view = MessageView("", json.dumps({"source": "team7.orders"}).encode(), {})
    assert [e.seq for e in idx.match(view)] == [7]


def test_a_nan_number_attribute_matches_no_numeric_condition() -> None:
    """A Number attribute "NaN" is not a number any numeric condition holds (SNS numeric
    matching compares values; NaN compares false), in the index and in the full check."""
    idx = BindingIndex()
    es = [entry("sns", {"k": [{"numeric": ["=", -1]}]}, 1),
          entry("sns", {"k": [{"numeric": [">", 0]}]}, 2),
          entry("sns", {"k": [{"numeric": ["<", 0]}]}, 3)]
    for e in es:
        idx.add(e)
    view = MessageView("", b"{}", {"k": Attribute("Number", "NaN")})
    assert idx.match(view) == [] == scan(es, view)
