"""Glob matching with Redis's rules (PSUBSCRIBE, PUBSUB CHANNELS, KEYS: stringmatchlen).

`*` any run of bytes (including none), `?` exactly one byte, `[...]` one byte from a set
(`[^...]` negated; `a-z` ranges, reversed ranges swapped; `\\x` inside a set is a
literal x; a set left unterminated runs to the end of the pattern; `[]` matches
nothing), `\\x` a literal x outside sets (a trailing lone `\\` is a literal backslash).
An empty string matches only the empty pattern (stringmatchlen's loop never runs).
Matching is case-sensitive and byte-wise: bytes are mapped 1:1 onto str via latin-1.

`compile_glob` translates the pattern once into an equivalent regular expression;
`glob_matches` is a direct port of stringmatchlen used as the reference in tests.
Concurrency: pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def _text(s: str | bytes) -> str:
    return s.decode("latin-1") if isinstance(s, (bytes, bytearray)) else s


def _class_regex(ranges: list[tuple[int, int]], negate: bool) -> str:
    if not ranges:
        return "." if negate else "(?!)"
    body = "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )
    return f"[{'^' if negate else ''}{body}]"


Token = tuple[str, Any]  # ("*", None) | ("?", None) | ("lit", ch) | ("set", (ranges, neg))


def glob_tokens(pattern: str | bytes) -> list[Token]:
    """Parse a pattern with stringmatchlen's rules into tokens (stars collapsed)."""
    p = _text(pattern)
    n = len(p)
    out: list[Token] = []
    i = 0
    while i < n:
        c = p[i]
        if c == "*":
            while i + 1 < n and p[i + 1] == "*":
                i += 1
            out.append(("*", None))
        elif c == "?":
            out.append(("?", None))
        elif c == "[":
            i += 1
            negate = i < n and p[i] == "^"
            if negate:
                i += 1
            ranges: list[tuple[int, int]] = []
            while True:
                if i < n and p[i] == "\\" and n - i >= 2:
                    i += 1
                    ranges.append((ord(p[i]), ord(p[i])))
                elif i < n and p[i] == "]":
                    break
                elif i >= n:
                    i = n - 1  # unterminated: the set runs to the end
                    break
                elif n - i >= 3 and p[i + 1] == "-":
                    lo, hi = ord(p[i]), ord(p[i + 2])
                    if lo > hi:
                        lo, hi = hi, lo
                    ranges.append((lo, hi))
                    i += 2
                else:
                    ranges.append((ord(p[i]), ord(p[i])))
                i += 1
            out.append(("set", (tuple(ranges), negate)))
        elif c == "\\" and n - i >= 2:
            i += 1
            out.append(("lit", p[i]))
        else:
            out.append(("lit", c))
        i += 1
    return out


def glob_regex(pattern: str | bytes) -> re.Pattern[str]:
    parts: list[str] = []
    for kind, arg in glob_tokens(pattern):
        if kind == "*":
            parts.append(".*")
        elif kind == "?":
            parts.append(".")
        elif kind == "lit":
            parts.append(re.escape(str(arg)))
        else:
            set_ranges, set_negate = arg
            parts.append(_class_regex(list(set_ranges), set_negate))
    return re.compile("".join(parts), re.DOTALL)


def token_pred(kind: str, arg: Any) -> Callable[[str], bool] | None:
    if kind == "*":
        return None
    if kind == "?":
        return lambda c: True
    if kind == "lit":
        return str(arg).__eq__
    set_ranges: tuple[tuple[int, int], ...] = arg[0]
    set_negate: bool = arg[1]

    def in_set(c: str) -> bool:
        o = ord(c)
        hit = any(lo <= o <= hi for lo, hi in set_ranges)
        return hit != set_negate

    return in_set


def star_match(tokens: list[Callable[[str], bool] | None], s: str) -> bool:
    """Greedy wildcard matching with one backtrack point: O(len(s) x len(tokens)),
    no exponential backtracking whatever the number of stars (None = a star)."""
    n, m = len(s), len(tokens)
    i = j = 0
    star_j, star_i = -1, 0
    while i < n:
        if j < m and tokens[j] is None:
            star_j, star_i = j, i
            j += 1
            continue
        t = tokens[j] if j < m else None
        if t is not None and t(s[i]):
            i += 1
            j += 1
        elif star_j >= 0:
            j = star_j + 1
            star_i += 1
            i = star_i
        else:
            return False
    while j < m and tokens[j] is None:
        j += 1
    return j == m


#: patterns with more stars than this use `star_match` instead of a regex
MAX_REGEX_STARS = 2


def compile_glob(pattern: str | bytes) -> Callable[[str | bytes], bool]:
    """A predicate over channel names (str or bytes) for one Redis glob pattern."""
    text = _text(pattern)
    if not any(ch in text for ch in "*?[\\"):
        return lambda s: _text(s) == text
    tokens = glob_tokens(text)
    if sum(1 for k, _ in tokens if k == "*") > MAX_REGEX_STARS:
        preds = [token_pred(k, a) for k, a in tokens]

        def slow_safe(s: str | bytes) -> bool:
            return bool(s) and star_match(preds, _text(s))

        return slow_safe
    fm = glob_regex(text).fullmatch

    def pred(s: str | bytes) -> bool:
        # stringmatchlen never enters its loop for an empty string: only "" matches it
        return bool(s) and fm(_text(s)) is not None

    return pred


def glob_matches(pattern: str | bytes, string: str | bytes) -> bool:
    """Reference: a line-by-line port of Redis's stringmatchlen (nocase=0)."""
    return _match(_text(pattern), 0, _text(string), 0)


def _match(p: str, pi: int, s: str, si: int) -> bool:
    pn, sn = len(p), len(s)
    while pi < pn and si < sn:
        c = p[pi]
        if c == "*":
            while pi + 1 < pn and p[pi + 1] == "*":
                pi += 1
            if pi + 1 == pn:
                return True
            for k in range(si, sn):
                if _match(p, pi + 1, s, k):
                    return True
            return False
        if c == "?":
            si += 1
        elif c == "[":
            pi += 1
            negate = pi < pn and p[pi] == "^"
            if negate:
                pi += 1
            match = False
            while True:
                if pi < pn and p[pi] == "\\" and pn - pi >= 2:
                    pi += 1
                    if p[pi] == s[si]:
                        match = True
                elif pi < pn and p[pi] == "]":
                    break
                elif pi >= pn:
                    pi -= 1
                    break
                elif pn - pi >= 3 and p[pi + 1] == "-":
                    start, end = p[pi], p[pi + 2]
                    if start > end:
                        start, end = end, start
                    pi += 2
                    if start <= s[si] <= end:
                        match = True
                else:
                    if p[pi] == s[si]:
                        match = True
                pi += 1
            if negate:
                match = not match
            if not match:
                return False
            si += 1
        else:
            if c == "\\" and pn - pi >= 2:
                pi += 1
                c = p[pi]
            if c != s[si]:
                return False
            si += 1
        pi += 1
        if si == sn:
            while pi < pn and p[pi] == "*":
                pi += 1
            break
    return pi == pn and si == sn
