"""EventBridge event patterns: compile once, match events (rules on a bus, TestEventPattern).

Implements the content filtering EventBridge documents: exact values (strings, numbers,
true/false, null; type-correct, null is not ""), `prefix` and `suffix` (each also with
`{"equals-ignore-case": ...}` inside), `anything-but` (a value, a list, `prefix`,
`suffix`, `equals-ignore-case`, `wildcard`), `numeric` ranges, `exists`, `cidr`,
`equals-ignore-case`, `wildcard`, and `$or`. Arrays in an event match when any element
matches. An invalid pattern raises `InvalidPattern('event_pattern', msg)` whose message is
AWS's `InvalidEventPatternException` text ("Event pattern is not valid. Reason: ..."),
with the parser's position appended to structural errors as AWS appends it
(`json_location`).

Invariants: `compile_event_pattern` validates completely, so `EventPattern.matches`
never raises on any event (a non-object event simply does not match).
Concurrency: pure; compiled patterns are immutable and shareable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from mqlite.core.errors import InvalidPattern
from mqlite.core.matchers.content import (
    Dialect,
    Hint,
    Node,
    PatternError,
    compile_node,
    eval_node,
)
from mqlite.core.matchers.hints import index_hints
from mqlite.core.matchers.json_location import locate

LANGUAGE = "event_pattern"
PREFIX = "Event pattern is not valid. Reason: "

DIALECT = Dialect(
    name="eventbridge",
    operators=frozenset(
        {
            "prefix",
            "suffix",
            "anything-but",
            "numeric",
            "exists",
            "cidr",
            "equals-ignore-case",
            "wildcard",
        }
    ),
    anything_but_ops=frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"}),
    affix_ignore_case=True,
    anything_but_lists=True,
    nested=True,
)


def _error(reason: str) -> InvalidPattern:
    err = InvalidPattern(LANGUAGE, PREFIX + reason)
    err.reason = reason  # type: ignore[attr-defined]
    return err


def load_json(text: str | bytes | dict[str, Any]) -> Any:
    if isinstance(text, dict):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _error(f"Filter is not valid JSON: {exc}") from None


@dataclass(frozen=True, slots=True)
class EventPattern:
    """A compiled event pattern."""

    source: dict[str, Any]
    root: Node

    def matches(self, event: Any) -> bool:
        """Does the (decoded JSON) event match? Never raises."""
        if type(event) is not dict:
            return False
        return eval_node(self.root, event)

    def hints(self) -> frozenset[Hint] | None:
        return index_hints(self.root)


def compile_event_pattern(pattern: str | bytes | dict[str, Any]) -> EventPattern:
    """Validate and compile; raise `InvalidPattern` with EventBridge's message."""
    obj = load_json(pattern)
    if not isinstance(obj, dict):
        raise _error("Filter is not an object")
    try:
        root = compile_node(obj, DIALECT)
    except PatternError as exc:
        raise _error(exc.reason + _location(pattern, exc.reason)) from None
    return EventPattern(obj, root)


_NOT_CONTAINER = re.compile(r'^"(.*)" must be an object or an array$', re.S)


def _location(pattern: str | bytes | dict[str, Any], reason: str) -> str:
    """The parser's position EventBridge appends to structural errors (json_location)."""
    if isinstance(pattern, dict):
        return ""
    m = _NOT_CONTAINER.match(reason)
    if m is not None:
        name = m.group(1)
        return locate(pattern, lambda k, v: k == name and not isinstance(v, (dict, list)))
    if reason == "Empty arrays are not allowed":
        return locate(pattern, lambda k, v: isinstance(v, list) and not v)
    return ""


def test_event_pattern(
    pattern: str | bytes | dict[str, Any], event: str | bytes | dict[str, Any]
) -> bool:
    """EventBridge TestEventPattern: does `event` match `pattern`? (JSON text or dicts)."""
    compiled = compile_event_pattern(pattern)
    if isinstance(event, dict):
        ev: Any = event
    else:
        try:
            ev = orjson.loads(event)
        except orjson.JSONDecodeError:
            raise InvalidPattern(LANGUAGE, "Parameter Event is not valid.") from None
    return compiled.matches(ev)


test_event_pattern.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
