"""Model constraints on decoded input: lengths, ranges, patterns and enums, as AWS checks them.

`violations(shape, params) -> list[str]` walks a decoded input (the codec's output)
against its botocore input shape and returns one text per violated constraint, in the
words AWS's request validation uses ("Value 'x' at 'streamName' failed to satisfy
constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
`validation_message(texts)` joins them as AWS does ("2 validation errors detected: ...;
..."); `null_violation(path)` is the text for a missing required member. Paths name
members in lower camel case, list items as `<list>.<n>.member`. Which services apply
this, and with which error code, is the front-end's choice (wire holds no service
knowledge).
A shape is compiled once into a checker, or into None when nothing under it is
constrained (then a call costs one dict lookup). Patterns are Java regular expressions
matched against the whole value; the Unicode classes `\\p{L}`, `\\p{Z}`, `\\p{N}` are
translated to Python's, and a pattern Python cannot compile is not checked.
Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import Shape

Checker = Callable[[Any, str, list[str]], None]
_CACHE: dict[int, tuple[Any, Checker | None]] = {}
# \p{L}\p{N} are word characters (with `_`, which every such model class also allows);
# \p{Z} is Unicode's space separators.
_UNICODE_CLASSES = (
    (r"\p{L}", r"\w"), (r"\p{N}", r"\w"),
    (r"\p{Z}", "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"),
)


def camel(name: str) -> str:
    """A member name as AWS's validation paths spell it (`StreamName` -> `streamName`)."""
    return name[:1].lower() + name[1:]


def java_pattern(pattern: str) -> re.Pattern[str] | None:
    """A model's (Java) pattern compiled for Python's `re`, or None if it cannot be."""
    for java, python in _UNICODE_CLASSES:
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _render(value: Any) -> str:
    """A value as AWS's (Java) validation messages print it."""
    if isinstance(value, bytes):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _fail(value: Any, path: str, rule: str) -> str:
    return f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: {rule}"


def null_violation(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def validation_message(texts: list[str]) -> str:
    n = len(texts)
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(texts)


Rule = Callable[[Any], str | None]


def _at_most(hi: int, what: str) -> Rule:
    text = f"Member must have {what} less than or equal to {hi}"
    if what == "length":
        return lambda v: None if len(v) <= hi else text
    return lambda v: None if v <= hi else text


def _at_least(lo: int, what: str) -> Rule:
    text = f"Member must have {what} greater than or equal to {lo}"
    if what == "length":
        return lambda v: None if len(v) >= lo else text
    return lambda v: None if v >= lo else text


def _matching(compiled: re.Pattern[str], pattern: str) -> Rule:
    text = f"Member must satisfy regular expression pattern: {pattern}"
    return lambda v: None if compiled.fullmatch(v) else text


def _one_of(enum: list[str]) -> Rule:
    allowed = frozenset(enum)
    text = f"Member must satisfy enum value set: [{', '.join(enum)}]"
    return lambda v: None if v in allowed else text


def _rules(shape: Shape, relaxed: frozenset[str]) -> list[Rule]:
    """The leaf rules of `shape` (each returns the broken rule's text or None)."""
    meta = shape.metadata
    t = shape.type_name
    rules: list[Rule] = []
    lo, hi = meta.get("min"), meta.get("max")
    if t in ("string", "blob", "list", "map", "integer", "long", "short", "byte", "float", "double"):
        what = "length" if t in ("string", "blob", "list", "map") else "value"
        if hi is not None:
            rules.append(_at_most(hi, what))
        if lo is not None and (lo > 0 or what == "value"):
            rules.append(_at_least(lo, what))
    if t == "string":
        pattern = meta.get("pattern")
        compiled = java_pattern(pattern) if pattern and shape.name not in relaxed else None
        if compiled is not None:
            rules.append(_matching(compiled, pattern))
        enum = getattr(shape, "enum", None)
        if enum:
            rules.append(_one_of(list(enum)))
    return rules


def _compile(shape: Shape, relaxed: frozenset[str]) -> Checker | None:
    key = id(shape)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is shape:
        return hit[1]
    _CACHE[key] = (shape, None)  # recursion guard: a recursive shape checks its first level
    rules = _rules(shape, relaxed)
    t = shape.type_name
    inner: Checker | None = None
    if t == "structure":
        members = [(k, camel(k), c) for k, m in shape.members.items()
                   if (c := _compile(m, relaxed)) is not None]
        if members:
            def inner(value: Any, path: str, out: list[str]) -> None:
                for key, name, check in members:
                    v = value.get(key)
                    if v is not None:
                        check(v, f"{path}.{name}" if path else name, out)
    elif t == "list":
        item = _compile(shape.member, relaxed)
        if item is not None:
            def inner(value: Any, path: str, out: list[str]) -> None:
                for i, v in enumerate(value, 1):
                    item(v, f"{path}.{i}.member", out)
    elif t == "map":
        kcheck, vcheck = _compile(shape.key, relaxed), _compile(shape.value, relaxed)
        if kcheck is not None or vcheck is not None:
            def inner(value: Any, path: str, out: list[str]) -> None:
                for k, v in value.items():
                    if kcheck is not None:
                        kcheck(k, path, out)
                    if vcheck is not None and v is not None:
                        vcheck(v, path, out)
    checker: Checker | None
    if not rules:
        checker = inner
    else:
        def checker(value: Any, path: str, out: list[str]) -> None:
            for rule in rules:
                broken = rule(value)
                if broken is not None:
                    out.append(_fail(value, path, broken))
            if inner is not None:
                inner(value, path, out)
    _CACHE[key] = (shape, checker)
    return checker


def violations(shape: Shape | None, params: Any, relaxed: frozenset[str] = frozenset()) -> list[str]:
    """Every constraint `params` breaks (empty when none; see module docstring). The
    patterns of the shapes named in `relaxed` are not checked (a service's choice; it
    must name the same shapes on every call, as checkers are cached per shape)."""
    if shape is None or params is None:
        return []
    check = _compile(shape, relaxed)
    if check is None:
        return []
    out: list[str] = []
    check(params, "", out)
    return out
