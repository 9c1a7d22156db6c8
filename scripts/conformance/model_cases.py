"""Requests generated from a botocore operation's input shape, for model-driven conformance.

`cases(operation_model, fixtures)` yields `Case`s for one operation:
- `minimal`: only the required members, each with a valid value;
- `full`: every member set (nested structures to `MAX_DEPTH`), each valid;
- `missing <path>`: the minimal request without one required member (top level and in
  nested required structures);
- `violate <path> <rule>`: the full request with one constrained value (length, range,
  pattern, enum) broken by one: a string one character too short or too long, a number
  one below or above its range, a value outside the pattern or the enum.
Valid strings satisfy the shape's length, pattern and enum (pattern examples found with
hypothesis' `from_regex`, derandomized, so a run is reproducible). Members that are
endpoint context parameters other than ARNs (Kinesis `StreamId`, EventBridge
`EndpointId`) are left out: SDKs turn them into another host name (or SigV4a), so they
never reach a server given as the endpoint URL. `fixtures` maps member
names (`QueueUrl`, `TopicArn`, `StreamName`, ...) to existing resources, so valid
requests reach the service's logic instead of stopping at "not found".
Pure: no I/O.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mqlite.protocols.aws.wire.constraints import java_pattern

MAX_DEPTH = 3  # nesting of optional structures in the `full` request
MAX_LENGTH_CASE = 1_100_000  # longer max lengths are not violated (too big to send)
_CANDIDATES = ("a", "abc", "conformance-1", "name_1", "123456789012", "1", "en-US", "+15555550100",
               "arn:aws:iam::123456789012:role/conformance", "arn:aws:sqs:us-east-1:123456789012:q")
_BAD = ("!", "@@@ ###", " ", "a b!", "\u00e9\u00e8", "-", "#", "aws:x")


@dataclass(frozen=True)
class Case:
    operation: str
    kind: str  # "minimal" | "full" | "missing <path>" | "violate <path> <rule>"
    params: dict[str, Any]
    valid: bool


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    return java_pattern(pattern)  # the server's own translation of Java's regex classes


@cache
def _matching(pattern: str, lo: int, hi: int) -> str | None:
    """A string of length lo..hi matching `pattern` entirely, or None."""
    compiled = _pattern(pattern)
    if compiled is None:
        return None
    for c in _CANDIDATES:
        if lo <= len(c) <= hi and compiled.fullmatch(c):
            return c
    if lo > 0:
        for c in _CANDIDATES:
            padded = (c * (lo // len(c) + 1))[:max(lo, len(c))]
            if lo <= len(padded) <= hi and compiled.fullmatch(padded):
                return padded
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    try:
        return find(st.from_regex(compiled, fullmatch=True), lambda s: lo <= len(s) <= hi,
                    settings=settings(database=None, derandomize=True, max_examples=2000,
                                      suppress_health_check=list(HealthCheck)))
    except (NoSuchExample, Exception):  # noqa: BLE001 - an unusable pattern: no example
        return None


def _limits(shape: Any) -> tuple[int, int]:
    meta = shape.metadata
    return int(meta.get("min", 0)), int(meta.get("max", 2**31))


def valid_value(shape: Any, name: str, fixtures: Mapping[str, Any], full: bool, depth: int = 0,
                skip: frozenset[str] = frozenset()) -> Any:
    """A value of `shape` (member `name`) that satisfies every constraint; top-level
    members named in `skip` are left out."""
    if name in fixtures:
        return copy.deepcopy(fixtures[name])
    t = shape.type_name
    lo, hi = _limits(shape)
    if t == "structure":
        out: dict[str, Any] = {}
        for key, member in shape.members.items():
            if depth == 0 and key in skip:
                continue
            required = key in shape.required_members
            if required or (full and depth < MAX_DEPTH):
                if member.type_name == "structure" and not required and depth + 1 >= MAX_DEPTH:
                    continue
                if member.serialization.get("eventstream") or member.type_name == "structure" and \
                        member.metadata.get("eventstream"):
                    continue
                out[key] = valid_value(member, key, fixtures, full, depth + 1)
        return out
    if t == "list":
        n = max(lo, 1)
        return [valid_value(shape.member, name, fixtures, full, depth + 1) for _ in range(n)]
    if t == "map":
        n = max(lo, 1)
        keys = [_string(shape.key, f"k{i}") for i in range(n)]
        return {k: valid_value(shape.value, name, fixtures, full, depth + 1) for k in keys}
    if t == "string":
        return _string(shape, "a")
    if t in ("integer", "long", "short", "byte"):
        if "min" in shape.metadata:
            return lo
        return min(1, hi)
    if t in ("float", "double"):
        return float(lo) if "min" in shape.metadata else 1.0
    if t == "boolean":
        return False
    if t == "blob":
        return b"d" * max(lo, 4) if hi >= 4 else b"d" * max(lo, 1)
    if t == "timestamp":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    return "a"


def _string(shape: Any, hint: str) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(enum[0])
    lo, hi = _limits(shape)
    pattern = shape.metadata.get("pattern")
    if pattern:
        found = _matching(pattern, lo, min(hi, 256))
        if found is not None:
            return found
    value = hint if len(hint) >= lo else hint + "a" * (lo - len(hint))
    return value[:hi]


def _violations(shape: Any) -> Iterator[tuple[str, Any]]:
    """(rule, value) pairs, each breaking one constraint of a leaf or collection shape."""
    t = shape.type_name
    meta = shape.metadata
    lo, hi = _limits(shape)
    if t == "string":
        if "min" in meta and lo > 0:
            yield f"length < {lo}", "a" * (lo - 1)
        if "max" in meta and hi < MAX_LENGTH_CASE:
            yield f"length > {hi}", "a" * (hi + 1)
        pattern = meta.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None:
            for bad in _BAD:
                padded = bad * max(1, lo // len(bad) + (1 if lo % len(bad) else 0))
                if len(padded) <= hi and len(padded) >= lo and not compiled.fullmatch(padded):
                    yield "pattern", padded
                    break
        if getattr(shape, "enum", None):
            yield "enum", "NOT_A_MODELLED_VALUE"
    elif t in ("integer", "long", "short", "byte", "float", "double"):
        if "min" in meta:
            yield f"value < {lo}", lo - 1
        if "max" in meta and hi < 2**63 - 1:
            yield f"value > {hi}", hi + 1
    elif t == "blob":
        if "min" in meta and lo > 0:
            yield f"length < {lo}", b"d" * (lo - 1)
        if "max" in meta and hi < MAX_LENGTH_CASE:
            yield f"length > {hi}", b"d" * (hi + 1)
    elif t in ("list", "map"):
        if "min" in meta and lo > 0:
            yield f"size < {lo}", [] if t == "list" else {}
        # a collection over its max repeats its one valid item (lists only: map keys differ)
        if "max" in meta and t == "list" and hi <= 1000:
            yield f"size > {hi}", None  # filled from the valid value by the caller


def _walk(shape: Any, value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(path, shape, value) for every value in a generated request."""
    yield path, shape, value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        for key, v in value.items():
            member = shape.members.get(key)
            if member is not None:
                yield from _walk(member, v, (*path, key))
    elif t == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(shape.member, v, (*path, i))
    elif t == "map" and isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(shape.value, v, (*path, k))


def _replace(params: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(params)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _without(params: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(params)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p + 1) if isinstance(p, int) else str(p) for p in path)


def cases(op: Any, fixtures: Mapping[str, Any]) -> list[Case]:
    """Every generated request of operation model `op` (see module docstring)."""
    shape = op.input_shape
    name = op.name
    if shape is None:
        return [Case(name, "minimal", {}, True)]
    skip = frozenset(p.member_name for p in op.context_parameters if not p.name.endswith("ARN"))
    minimal = valid_value(shape, "", fixtures, full=False, skip=skip)
    full = valid_value(shape, "", fixtures, full=True, skip=skip)
    out = [Case(name, "minimal", minimal, True)]
    if full != minimal:
        out.append(Case(name, "full", full, True))
    for path, sub, value in _walk(shape, minimal, ()):
        if sub.type_name == "structure" and isinstance(value, dict):
            for req in sub.required_members:
                if req in value:
                    out.append(Case(name, f"missing {_dotted((*path, req))}", _without(minimal, (*path, req)), False))
    seen: set[tuple[str, str]] = set()
    for path, sub, value in _walk(shape, full, ()):
        if not path or (path[-1] in fixtures and sub.type_name == "string" and not sub.metadata):
            continue
        for rule, bad in _violations(sub):
            if bad is None:  # a list one item over its max
                if not isinstance(value, list) or not value:
                    continue
                bad = [copy.deepcopy(value[0]) for _ in range(_limits(sub)[1] + 1)]
            key = (_dotted(path), rule)
            if key in seen:
                continue
            seen.add(key)
            out.append(Case(name, f"violate {key[0]} {rule}", _replace(full, path, bad), False))
    return out
