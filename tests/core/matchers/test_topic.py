"""AMQP topic matching as RabbitMQ's topic exchange does it (rabbit_exchange_type_topic):
words split on ".", "" has zero words, `*` one word, `#` zero or more words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.matchers.topic import (
    TopicTrie,
    compile_topic,
    split_key,
    topic_matches,
)

CASES = [
    # (binding key, routing key, matches) — RabbitMQ tutorial 5 and its topic tests
    ("*.orange.*", "quick.orange.rabbit", True),
    ("*.*.rabbit", "quick.orange.rabbit", True),
    ("lazy.#", "lazy.orange.elephant", True),
    ("*.orange.*", "quick.orange.fox", True),
    ("*.*.rabbit", "quick.brown.fox", False),
    ("lazy.#", "lazy.brown.fox", True),
    ("*.*.rabbit", "lazy.pink.rabbit", True),
    ("*.orange.*", "quick.orange.male.rabbit", False),
    ("lazy.#", "lazy.orange.male.rabbit", True),
    ("*.orange.*", "orange", False),
    # '#' alone matches everything, including the empty key
    ("#", "", True),
    ("#", "a", True),
    ("#", "a.b.c", True),
    ("#", ".", True),
    # '*' needs exactly one word; "" has zero words
    ("*", "", False),
    ("*", "a", True),
    ("*", "a.b", False),
    # empty words are words
    ("*", ".", False),
    ("*.*", ".", True),
    ("a.*", "a.", True),
    ("a.", "a.", True),
    ("a.", "a", False),
    ("", "", True),
    ("", "a", False),
    ("a..b", "a..b", True),
    ("a.*.b", "a..b", True),
    # a.#.b: # matches zero or more words in the middle
    ("a.#.b", "a.b", True),
    ("a.#.b", "a.x.b", True),
    ("a.#.b", "a.x.y.b", True),
    ("a.#.b", "a.b.c", False),
    ("a.#.b", "b.a.b", False),
    ("a.#", "a", True),
    ("#.a", "a", True),
    ("#.a", "x.a", True),
    ("#.a", "x.b", False),
    ("#.#", "", True),
    ("#.*", "", False),
    ("#.*", "a", True),
    ("*.#", "a.b.c", True),
    ("#.*.#", "a", True),
    ("a.#.#.b", "a.b", True),
    ("a.#.*.#.b", "a.b", False),
    ("a.#.*.#.b", "a.x.b", True),
    # wildcards are whole words only
    ("a*", "ab", False),
    ("a*", "a*", True),
    ("a#", "a", False),
    # case-sensitive
    ("A.b", "a.b", False),
]


@pytest.mark.parametrize(("binding", "key", "expected"), CASES)
def test_topic_table_matches_rabbitmq_rules(binding: str, key: str, expected: bool) -> None:
    assert topic_matches(binding, key) is expected
    assert compile_topic(binding)(key) is expected
    trie = TopicTrie()
    trie.add(binding, "b")
    assert (trie.match(key) == ["b"]) is expected


def test_split_key_follows_rabbitmq_split_topic_key() -> None:
    """RabbitMQ: <<>> -> [], "a." -> ["a", ""], "." -> ["", ""]."""
    assert split_key("") == []
    assert split_key("a.") == ["a", ""]
    assert split_key(".") == ["", ""]


def test_trie_returns_each_binding_once_and_forgets_removed_ones() -> None:
    trie = TopicTrie()
    trie.add("a.#", 1)
    trie.add("a.#", 1)  # duplicate binding is stored once
    trie.add("#.b", 2)
    trie.add("a.b", 3)
    assert sorted(trie.match("a.b")) == [1, 2, 3]
    assert len(trie) == 3
    assert trie.remove("a.#", 1)
    assert not trie.remove("a.#", 1)
    assert sorted(trie.match("a.b")) == [2, 3]
    assert trie.remove("#.b", 2) and trie.remove("a.b", 3)
    assert trie.match("a.b") == [] and len(trie) == 0
    assert list(trie.keys_values()) == []


def test_many_hashes_do_not_backtrack() -> None:
    """Binding keys with several '#' are matched without exponential backtracking."""
    key = ".".join(["a"] * 200) + ".x"
    pattern = ".".join(["#", "*"] * 8) + ".y"
    assert not compile_topic(pattern)(key)
    trie = TopicTrie()
    trie.add(pattern, 1)
    trie.add("#.#.#.#.#.#.#.#.x", 2)
    assert trie.match(key) == [2]


words = st.sampled_from(["a", "b", "", "c"])
pattern_words = st.sampled_from(["a", "b", "", "*", "#"])


def _join(ws: list[str]) -> str:
    return ".".join(ws)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(pattern_words, max_size=5), min_size=1, max_size=6),
       st.lists(words, max_size=6))
def test_compiled_matcher_and_trie_agree_with_reference(patterns: list[list[str]],
                                                         key_words: list[str]) -> None:
    """Property: regex-compiled predicate == trie lookup == word-by-word reference."""
    key = _join(key_words)
    trie = TopicTrie()
    for i, p in enumerate(patterns):
        trie.add(_join(p), i)
    expected = {i for i, p in enumerate(patterns) if topic_matches(_join(p), key)}
    assert {i for i, p in enumerate(patterns) if compile_topic(_join(p))(key)} == expected
    assert set(trie.match(key)) == expected
