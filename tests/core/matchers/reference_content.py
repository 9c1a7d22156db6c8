"""A slow, direct interpreter of SNS filter policies / EventBridge patterns for tests.

Written independently of mqlite.core.matchers.content (no compilation, no regex): it
walks the raw pattern against the raw event. Semantics (AWS docs): every key must
match; a key matches if any match value matches any of the event's values there
(arrays transparent); nested objects inside arrays match element by element; `$or`
is any branch; exists true/false is "has a value" / "has none"; equality is typed.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _leaves(v: Any) -> list[Any]:
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    if isinstance(v, dict):
        return []
    return [v]


def _objects(v: Any) -> list[dict[str, Any]]:
    if isinstance(v, dict):
        return [v]
    if isinstance(v, list):
        return [o for item in v for o in _objects(item)]
    return []


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return _is_num(a) and _is_num(b) and float(a) == float(b)


def wildcard(p: str, s: str) -> bool:
    """`*` any run; `\\*`, `\\\\` literal. Plain recursion."""
    if not p:
        return not s
    if p[0] == "\\" and len(p) > 1 and p[1] in "*\\":
        return bool(s) and s[0] == p[1] and wildcard(p[2:], s[1:])
    if p[0] == "*":
        return any(wildcard(p[1:], s[i:]) for i in range(len(s) + 1))
    return bool(s) and s[0] == p[0] and wildcard(p[1:], s[1:])


def _numeric(spec: list[Any], v: Any) -> bool:
    if not _is_num(v):
        return False
    for i in range(0, len(spec), 2):
        op, n = spec[i], spec[i + 1]
        ok = {"=": v == n, ">": v > n, ">=": v >= n, "<": v < n, "<=": v <= n}[op]
        if not ok:
            return False
    return True


def _affix(op: str, arg: Any, v: Any) -> bool:
    if not isinstance(v, str):
        return False
    if isinstance(arg, dict):
        t = arg["equals-ignore-case"].lower()
        s = v.lower()
    else:
        t, s = arg, v
    return s.startswith(t) if op == "prefix" else s.endswith(t)


def value_matches(mv: Any, v: Any) -> bool:
    if not isinstance(mv, dict):
        return _eq(mv, v)
    ((op, arg),) = mv.items()
    if op in ("prefix", "suffix"):
        return _affix(op, arg, v)
    if op == "equals-ignore-case":
        return isinstance(v, str) and v.lower() == arg.lower()
    if op == "numeric":
        return _numeric(arg, v)
    if op == "cidr":
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    if op == "wildcard":
        return isinstance(v, str) and wildcard(arg, v)
    if op == "anything-but":
        if isinstance(arg, dict):
            ((iop, iarg),) = arg.items()
            if not isinstance(v, str):
                return False
            items = iarg if isinstance(iarg, list) else [iarg]
            if iop in ("prefix", "suffix"):
                return not any(_affix(iop, i, v) for i in items)
            if iop == "equals-ignore-case":
                return all(v.lower() != i.lower() for i in items)
            if iop == "wildcard":
                return not any(wildcard(i, v) for i in items)
            raise AssertionError(iop)
        if not (isinstance(v, str) or _is_num(v)):
            return False
        items = arg if isinstance(arg, list) else [arg]
        return not any(_eq(i, v) for i in items)
    raise AssertionError(op)


def ref_match(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, val in pattern.items():
        if key == "$or" and isinstance(val, list) and val and all(isinstance(b, dict) for b in val):
            if not any(ref_match(b, event) for b in val):
                return False
        elif isinstance(val, dict):
            objs = _objects(event.get(key))
            if objs:
                if not any(ref_match(val, o) for o in objs):
                    return False
            elif not ref_match(val, {}):
                return False
        else:
            values = _leaves(event[key]) if key in event else []
            ok = False
            for mv in val:
                if isinstance(mv, dict) and "exists" in mv:
                    ok = ok or (bool(values) == mv["exists"])
                elif values:
                    ok = ok or any(value_matches(mv, v) for v in values)
            if not ok:
                return False
    return True
