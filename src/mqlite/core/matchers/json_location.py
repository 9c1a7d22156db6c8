"""Where in a pattern's JSON text a structural mistake is, worded as EventBridge words it.

EventBridge parses event patterns with a streaming JSON parser (Jackson) and appends the
parser's position to structural errors: `"source" must be an object or an array\\n at
[Source: (String)"{...}"; line: 1, column: 45]` (quoted in public reports of AWS's
answers). The position is the parser's after reading the offending token: just inside
the opening quote of a string, just after a number or literal, just after the `]` of an
empty array. `locate(text, predicate)` finds the first value in document order for
which `predicate(key, value)` holds and returns that suffix, or "" when the text cannot
be scanned (the caller then leaves the suffix out).
Pure functions; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
MAX_SNIPPET = 500  # Jackson's limit on the source it quotes


class _Found(Exception):
    def __init__(self, end: int) -> None:
        self.end = end


Predicate = Callable[[str, Any], bool]  # (key, its direct value) -> is this the one?


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _value(text: str, i: int, key: str | None, want: Predicate) -> tuple[Any, int]:
    """Parse the value at `i` (whitespace skipped); raise _Found at the first value that
    `want(key, value)` picks (`key` is None for array elements and the root)."""
    i = _skip(text, i)
    ch = text[i]
    if ch == "{":
        out: dict[str, Any] = {}
        i = _skip(text, i + 1)
        if text[i] == "}":
            return out, i + 1
        while True:
            name, i = _scanstring(text, _skip(text, i) + 1)
            i = _skip(text, i)
            assert text[i] == ":"
            out[name], i = _value(text, i + 1, name, want)
            i = _skip(text, i)
            if text[i] == "}":
                return out, i + 1
            i += 1  # ","
    if ch == "[":
        items: list[Any] = []
        i = _skip(text, i + 1)
        if text[i] == "]":
            if key is not None and want(key, items):
                raise _Found(i + 1)
            return items, i + 1
        while True:
            item, i = _value(text, i, None, want)  # elements are no key's direct value
            items.append(item)
            i = _skip(text, i)
            if text[i] == "]":
                return items, i + 1
            i += 1
    if ch == '"':
        s, end = _scanstring(text, i + 1)
        if key is not None and want(key, s):
            raise _Found(i + 1)
        return s, end
    m = _NUMBER.match(text, i)
    if m:
        num = json.loads(m.group())
        if key is not None and want(key, num):
            raise _Found(m.end())
        return num, m.end()
    for word, val in _LITERALS.items():
        if text.startswith(word, i):
            if key is not None and want(key, val):
                raise _Found(i + len(word))
            return val, i + len(word)
    raise ValueError(f"unexpected {ch!r} at {i}")


def _describe(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    shown = text if len(text) <= MAX_SNIPPET else (
        f'{text[:MAX_SNIPPET]}"[truncated {len(text) - MAX_SNIPPET} chars]')
    closing = '"' if len(text) <= MAX_SNIPPET else ""
    return f'\n at [Source: (String)"{shown}{closing}; line: {line}, column: {column}]'


def locate(text: str | bytes, want: Predicate) -> str:
    """The location suffix of the first value (in document order) `want` picks, or ""."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            return ""
    try:
        _value(text, 0, None, want)
    except _Found as found:
        return _describe(text, found.end)
    except (ValueError, IndexError, AssertionError):
        return ""
    return ""
