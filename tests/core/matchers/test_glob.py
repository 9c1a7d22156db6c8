"""Redis glob matching (stringmatchlen, as PSUBSCRIBE and PUBSUB CHANNELS use it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.matchers.glob import (
    compile_glob,
    glob_matches,
    glob_tokens,
    star_match,
    token_pred,
)

CASES = [
    # Redis docs (KEYS / PSUBSCRIBE): h?llo, h*llo, h[ae]llo, h[^e]llo, h[a-b]llo
    ("h?llo", "hello", True),
    ("h?llo", "hallo", True),
    ("h?llo", "hllo", False),
    ("h*llo", "hllo", True),
    ("h*llo", "heeeello", True),
    ("h[ae]llo", "hello", True),
    ("h[ae]llo", "hallo", True),
    ("h[ae]llo", "hillo", False),
    ("h[^e]llo", "hallo", True),
    ("h[^e]llo", "hbllo", True),
    ("h[^e]llo", "hello", False),
    ("h[a-b]llo", "hallo", True),
    ("h[a-b]llo", "hbllo", True),
    ("h[a-b]llo", "hcllo", False),
    # reversed ranges are swapped
    ("h[b-a]llo", "hallo", True),
    # escapes
    ("h\\*llo", "h*llo", True),
    ("h\\*llo", "hello", False),
    ("h\\?", "h?", True),
    ("[\\]]", "]", True),
    ("[\\-]", "-", True),
    ("a\\", "a\\", True),  # trailing lone backslash is literal
    # sets
    ("[]", "a", False),
    ("[^]", "a", True),
    ("[abc", "b", True),  # unterminated set runs to the end
    ("[abc", "d", False),
    ("[a-]", "]", True),  # Redis reads "a-]" as the range a..] (swapped)
    ("[a-]", "-", False),
    ("[", "[", False),
    # stars
    ("*", "anything", True),
    ("**", "x", True),
    ("*", "", False),  # stringmatchlen: an empty string matches only an empty pattern
    ("", "", True),
    ("a*", "a", True),
    ("*a", "a", True),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "aXbY", False),
    ("news.*", "news.tech", True),
    ("news.*", "news", False),
    # case-sensitive
    ("Hello", "hello", False),
]


@pytest.mark.parametrize(("pattern", "string", "expected"), CASES)
def test_glob_table_matches_redis_stringmatchlen(pattern: str, string: str, expected: bool) -> None:
    assert glob_matches(pattern, string) is expected
    assert compile_glob(pattern)(string) is expected


def test_bytes_are_matched_byte_wise() -> None:
    """Redis channel names are binary: bytes >= 0x80 are single characters."""
    assert compile_glob(b"\xff?")(b"\xff\x00")
    assert compile_glob("[\x80-\xff]")(b"\x90")
    assert not compile_glob(b"?")(b"\xc3\xa9")  # two bytes, not one UTF-8 character


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab*?[]^-\\", max_size=8), st.text(alphabet="ab-]^\\*", max_size=6))
def test_compiled_glob_agrees_with_stringmatchlen_port(pattern: str, string: str) -> None:
    """Property: the regex translation == the line-by-line port of Redis's matcher."""
    assert compile_glob(pattern)(string) == glob_matches(pattern, string)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab*?[]^-\\", max_size=8), st.text(alphabet="ab-]^\\*", min_size=1, max_size=6))
def test_backtracking_free_matcher_agrees_with_stringmatchlen_port(pattern: str, string: str) -> None:
    """Property: the O(n*m) star matcher (used for many-star patterns) == Redis's rules."""
    preds = [token_pred(k, a) for k, a in glob_tokens(pattern)]
    assert star_match(preds, string) == glob_matches(pattern, string)


def test_many_star_patterns_are_matched_without_catastrophic_backtracking() -> None:
    """A PSUBSCRIBE pattern from a client must not stall publishes (Redis bounds this too)."""
    pred = compile_glob("*a*a*a*a*a*a*a*a*a*a*b")
    assert not pred("a" * 5000)
    assert pred("a" * 50 + "b")
