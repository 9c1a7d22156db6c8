"""AMQP headers matching, as RabbitMQ's headers exchange implements it.

The binding arguments are the pattern; `x-match` selects the rule:
  all (default)  every non-`x-` argument is matched by a message header;
  any            at least one non-`x-` argument is matched;
  all-with-x / any-with-x   the same, but `x-` arguments (other than x-match) count too.
An argument matches a header with the same name when the two values have the same type
class and are equal (RabbitMQ compares types: the integer 1 does not match the string
"1" nor the float 1.0; booleans are not integers). An argument whose value is void
(None) matches when the header is present, whatever its value. `all` with no arguments
matches every message; `any` with none matches nothing (RabbitMQ's fold).

A bad `x-match` is rejected at bind time with RabbitMQ's PRECONDITION_FAILED text.
Header tables are Python values as pamqp decodes them (str, bytes, bool, int, float,
Decimal, datetime, dict, list, None). Concurrency: pure.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping
from typing import Any

from mqlite.core.errors import InvalidPattern

LANGUAGE = "headers"
MATCH_KINDS = ("all", "any", "all-with-x", "any-with-x")


def type_class(v: Any) -> str:
    """RabbitMQ's rabbit_misc:type_class, over pamqp's Python values."""
    if v is None:
        return "void"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, decimal.Decimal):
        return "decimal"
    if isinstance(v, (str, bytes, bytearray, memoryview)):
        return "longstr"
    if isinstance(v, datetime.datetime):
        return "timestamp"
    if isinstance(v, Mapping):
        return "table"
    if isinstance(v, (list, tuple)):
        return "array"
    return type(v).__name__


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, Mapping):
        return {_norm(k): _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [(_norm(x), type_class(x)) for x in v]
    return v


def values_equal(pattern: Any, value: Any) -> bool:
    """Same type class and equal value (str and bytes compare as bytes)."""
    return type_class(pattern) == type_class(value) and _norm(pattern) == _norm(value)


def parse_x_match(args: Mapping[str, Any]) -> str:
    xm = args.get("x-match", "all")
    if isinstance(xm, (bytes, bytearray)):
        xm = bytes(xm).decode("utf-8", "replace")
    if not isinstance(xm, str):
        raise InvalidPattern(
            LANGUAGE, f"Invalid x-match field type {type_class(xm)} (value {xm!r}); expected longstr"
        )
    if xm not in MATCH_KINDS:
        raise InvalidPattern(
            LANGUAGE,
            f'Invalid x-match field value <<"{xm}">>; expected all, any, all-with-x, or any-with-x',
        )
    return xm


def compile_headers(args: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any] | None], bool]:
    """A predicate over a message's headers table for one binding's arguments."""
    args = dict(args or {})
    kind = parse_x_match(args)
    with_x = kind.endswith("-with-x")
    want_all = kind.startswith("all")
    pattern = tuple(
        (k, v, type_class(v), _norm(v))
        for k, v in args.items()
        if k != "x-match" and (with_x or not k.startswith("x-"))
    )
    if not pattern:
        return (lambda _h: True) if want_all else (lambda _h: False)

    def pred(headers: Mapping[str, Any] | None) -> bool:
        h = headers or {}
        for k, _v, tc, nv in pattern:
            if k in h:
                hv = h[k]
                ok = tc == "void" or (type_class(hv) == tc and _norm(hv) == nv)
            else:
                ok = False
            if ok and not want_all:
                return True
            if not ok and want_all:
                return False
        return want_all

    return pred


def headers_match(args: Mapping[str, Any] | None, headers: Mapping[str, Any] | None) -> bool:
    """Reference interpreter, written as RabbitMQ's fold over sorted argument lists."""
    args = dict(args or {})
    kind = parse_x_match(args)
    with_x = kind.endswith("-with-x")
    all_match, any_match = True, False
    h = headers or {}
    for k in sorted(args):
        if k == "x-match" or (k.startswith("x-") and not with_x):
            continue
        if k not in h:
            all_match = False
            continue
        pv = args[k]
        if pv is None or values_equal(pv, h[k]):
            any_match = True
        else:
            all_match = False
    return all_match if kind.startswith("all") else any_match
