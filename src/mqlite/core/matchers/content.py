"""Content filtering shared by SNS filter policies and EventBridge event patterns.

Both languages are JSON objects whose leaves are arrays of *match values* (a literal, or
a one-key object naming an operator); a message matches when every key matches, where
a key matches when any match value matches any of the event's values at that path, and
`$or` (an array of objects) matches when any branch does. The two languages differ only
in which operators they accept and how they word errors, so each language module builds
a `Dialect` and calls `compile_node`; evaluation lives here.

Values are compared type-correctly: a string never equals a number, `true` never equals
`1`, and null is not the empty string (EventBridge "null values and empty strings").
Numbers compare numerically (`5` equals `5.0`). Arrays in an event are transparent: a
leaf key matches if any element matches, and nested objects inside arrays are matched
element by element (fields of one element are never mixed with another's).

Import cost: the tree types are NamedTuples, not dataclasses (a frozen slotted dataclass
costs ~1-4 ms to define: generated methods are exec'd; a NamedTuple ~0.1 ms), and
`ipaddress` is imported by the first `cidr` pattern.

Invariants: compiled trees are immutable tuples; evaluation never raises for any JSON
value of the event (a malformed message simply does not match).
Concurrency: pure functions; safe from any thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

Pred = Callable[[Any], bool]

#: an index hint: (path, key) where key is a canonical exact value (`canon`),
#: ("p", text) a string prefix, ("x", text) a string suffix, or ("r", lo, hi) a closed
#: numeric interval (possibly infinite; an over-approximation of open ends); see
#: `index_hints`.
Hint = tuple[tuple[str, ...], tuple[Any, ...]]


class PatternError(ValueError):
    """A pattern broke a rule; `reason` is the real system's wording (without prefix)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_number(v: Any) -> bool:
    return type(v) is int or (type(v) is float and not math.isnan(v))


def canon(v: Any) -> tuple[Any, ...] | None:
    """The canonical key of an exact value (None for values that are not exact keys)."""
    t = type(v)
    if t is str:
        return ("s", v)
    if t is int or t is float:
        return ("n", float(v))
    if t is bool:
        return ("b", v)
    if v is None:
        return ("z",)
    return None


def scalar_equal(a: Any, b: Any) -> bool:
    """Type-correct equality of JSON scalars."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if a is None or b is None:
        return a is b
    if ta is str or tb is str:
        return ta is tb and a == b
    if is_number(a) and is_number(b):
        return bool(float(a) == float(b))
    return False


# -- leaves -------------------------------------------------------------------------------


class Leaf(NamedTuple):
    """The match values of one key: `preds` on values, plus `exists` tests."""

    preds: tuple[Pred, ...]
    exists_true: bool  # some match value is {"exists": true}
    exists_false: bool  # some match value is {"exists": false}
    keys: tuple[tuple[Any, ...], ...] | None  # index keys when every value is indexable

    def matches(self, values: list[Any], present: bool) -> bool:
        if present and values:
            if self.exists_true:
                return True
            for p in self.preds:
                for v in values:
                    if p(v):
                        return True
            return False
        return self.exists_false


class Node(NamedTuple):
    """An object of the pattern: AND over `fields`, and each `$or` group is an OR."""

    fields: tuple[tuple[str, Leaf | Node], ...]
    ors: tuple[tuple[Node, ...], ...]


# -- operator compilation -------------------------------------------------------------------


def exact_pred(value: Any) -> Pred:
    t = type(value)
    if t is str:
        return lambda v: v == value and type(v) is str
    if t is bool:
        return lambda v: v is value
    if value is None:
        return lambda v: v is None
    fv = float(value)
    return lambda v: (type(v) is int or type(v) is float) and v == fv


def numeric_bounds(
    spec: Any, fail: Callable[[str], PatternError]
) -> tuple[float, bool, float, bool]:
    """`["op", n]` or `[">"|">=", lo, "<"|"<=", hi]` with AWS's validation messages, as
    (lo, lo_inclusive, hi, hi_inclusive) (infinite where unbounded)."""
    if not isinstance(spec, list):
        raise fail("Value of numeric must be an array.")
    if not spec:
        raise fail("Invalid member in numeric match: ]")
    op = spec[0]
    if not isinstance(op, str):
        raise fail(f"Invalid member in numeric match: {_show(op)}")
    if op not in ("<", "<=", "=", ">", ">="):
        raise fail(f"Unrecognized numeric range operator: {op}")
    if len(spec) < 2 or not is_number(spec[1]):
        raise fail(f"Value of {'equals' if op == '=' else op} must be numeric")
    first = float(spec[1])
    checks: list[tuple[str, float]] = [(op, first)]
    if len(spec) > 2:
        if op not in (">", ">="):
            raise fail("Too many elements in numeric expression")
        op2 = spec[2]
        if not isinstance(op2, str):
            raise fail(f"Bad value in numeric range: {_show(op2)}")
        if op2 not in ("<", "<="):
            raise fail(f"Bad numeric range operator: {op2}")
        if len(spec) < 4 or not is_number(spec[3]):
            raise fail(f"Value of {op2} must be numeric")
        second = float(spec[3])
        if second <= first:
            raise fail("Bottom must be less than top")
        if len(spec) > 4:
            raise fail("Too many terms in numeric range expression")
        checks.append((op2, second))
    lo = -math.inf
    hi = math.inf
    lo_incl = hi_incl = True
    for o, n in checks:
        if o == "=":
            lo = hi = n
        elif o == ">":
            lo, lo_incl = n, False
        elif o == ">=":
            lo, lo_incl = n, True
        elif o == "<":
            hi, hi_incl = n, False
        else:
            hi, hi_incl = n, True
    return lo, lo_incl, hi, hi_incl


def range_pred(lo: float, lo_incl: bool, hi: float, hi_incl: bool) -> Pred:
    def pred(v: Any) -> bool:
        t = type(v)
        if t is not int and (t is not float or math.isnan(v)):  # NaN is in no range
            return False
        if v < lo or (v == lo and not lo_incl):
            return False
        return not (v > hi or (v == hi and not hi_incl))

    return pred


def numeric_pred(spec: Any, fail: Callable[[str], PatternError]) -> Pred:
    """The predicate of a `numeric` match value (see `numeric_bounds`)."""
    return range_pred(*numeric_bounds(spec, fail))


def cidr_pred(spec: Any, fail: Callable[[str], PatternError]) -> Pred:
    if not isinstance(spec, str):
        raise fail("prefix match pattern must be a string")
    parts = spec.split("/")
    if len(parts) != 2:
        raise fail("Malformed CIDR, one '/' required")
    if not parts[1].isdigit():
        raise fail("Malformed CIDR, mask bits must be an integer")
    import ipaddress  # lazily: only patterns with cidr pay for the module

    try:
        net = ipaddress.ip_network(spec, strict=False)
    except ValueError:
        raise fail(f"Nonstandard IP address: {parts[0]}") from None

    def pred(v: Any) -> bool:
        if type(v) is not str:
            return False
        try:
            return ipaddress.ip_address(v) in net
        except ValueError:
            return False

    return pred


def wildcard_matcher(spec: Any, fail: Callable[[str], PatternError]) -> Callable[[str], bool]:
    """EventBridge wildcard: `*` any run of characters, `\\*` and `\\\\` literal.

    Matching splits the pattern at its stars into literal segments and finds them in
    order with str.find (leftmost is optimal for literals): linear time, no regex
    backtracking whatever an event's strings look like.
    """
    if not isinstance(spec, str):
        raise fail("wildcard match pattern must be a string")
    segments: list[str] = []
    cur: list[str] = []
    i = 0
    prev_star = False
    while i < len(spec):
        c = spec[i]
        if c == "\\" and i + 1 < len(spec) and spec[i + 1] in "*\\":
            cur.append(spec[i + 1])
            i += 2
            prev_star = False
            continue
        if c == "*":
            if prev_star:
                raise fail(f"Consecutive wildcard characters at pos {i}")
            segments.append("".join(cur))
            cur = []
            prev_star = True
        else:
            cur.append(c)
            prev_star = False
        i += 1
    segments.append("".join(cur))
    if len(segments) - 1 > 5:
        raise fail(
            "Rule is too complex - try using fewer wildcard characters or fewer repeating"
            " character sequences after a wildcard character"
        )
    if len(segments) == 1:
        return segments[0].__eq__  # type: ignore[return-value]
    head, tail, middle = segments[0], segments[-1], tuple(segments[1:-1])
    fixed = len(head) + len(tail)

    def match(s: str) -> bool:
        if len(s) < fixed or not s.startswith(head) or not s.endswith(tail):
            return False
        pos, end = len(head), len(s) - len(tail)
        for seg in middle:
            k = s.find(seg, pos, end)
            if k < 0:
                return False
            pos = k + len(seg)
        return True

    return match


def _comparable(v: Any) -> bool:
    """anything-but of values applies to strings and numbers (not null/bool/opaque)."""
    t = type(v)
    return t is str or t is int or t is float


#: the value of an attribute that exists but is never compared (SNS Binary).
OPAQUE = object()


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


# -- dialects -------------------------------------------------------------------------------


class Dialect(NamedTuple):
    """What one language accepts. `name` is for messages only."""

    name: str
    operators: frozenset[str]
    anything_but_ops: frozenset[str]
    affix_ignore_case: bool  # {"prefix": {"equals-ignore-case": "x"}} (EventBridge)
    anything_but_lists: bool  # {"anything-but": {"prefix": ["a","b"]}} and eic/wildcard lists
    nested: bool  # nested objects allowed


def compile_node(obj: dict[str, Any], d: Dialect, depth: int = 1) -> Node:
    fields: list[tuple[str, Leaf | Node]] = []
    ors: list[tuple[Node, ...]] = []
    for key, value in obj.items():
        if key == "$or" and isinstance(value, list) and value and all(
            isinstance(b, dict) for b in value
        ):
            ors.append(tuple(compile_node(b, d, depth) for b in value))
        elif isinstance(value, dict):
            if not d.nested:
                raise PatternError("__nested__")
            fields.append((key, compile_node(value, d, depth + 1)))
        elif isinstance(value, list):
            if not value:
                raise PatternError("Empty arrays are not allowed")
            fields.append((key, compile_leaf(value, d)))
        else:
            raise PatternError(f'"{key}" must be an object or an array')
    return Node(tuple(fields), tuple(ors))


def compile_leaf(values: list[Any], d: Dialect) -> Leaf:
    preds: list[Pred] = []
    exists_t = exists_f = False
    keys: list[tuple[Any, ...]] | None = []
    for mv in values:
        if isinstance(mv, dict):
            if len(mv) != 1:
                raise PatternError("Only one key allowed in match expression")
            ((op, arg),) = mv.items()
            if op not in d.operators:
                raise PatternError(f"Unrecognized match type {op}")
            if op == "exists":
                if not isinstance(arg, bool):
                    raise PatternError("exists match pattern must be either true or false.")
                if arg:
                    exists_t = True
                else:
                    exists_f = True
                keys = None
                continue
            if op == "numeric":
                lo, lo_incl, hi, hi_incl = numeric_bounds(arg, _fail)
                preds.append(range_pred(lo, lo_incl, hi, hi_incl))
                if keys is not None:  # "=" is an exact number; else a closed interval
                    keys.append(("n", lo) if lo == hi else ("r", lo, hi))
                continue
            preds.append(compile_operator(op, arg, d))
            if keys is not None:
                if op == "prefix" and isinstance(arg, str):
                    keys.append(("p", arg))
                elif op == "suffix" and isinstance(arg, str):
                    keys.append(("x", arg))
                else:
                    keys = None
        elif isinstance(mv, list):
            raise PatternError("Match value must be String, number, true, false, or null")
        else:
            preds.append(exact_pred(mv))
            if keys is not None:
                key = canon(mv)
                assert key is not None
                keys.append(key)
    return Leaf(tuple(preds), exists_t, exists_f, tuple(keys) if keys is not None else None)


def _fail(msg: str) -> PatternError:
    return PatternError(msg)


def compile_operator(op: str, arg: Any, d: Dialect) -> Pred:
    if op in ("prefix", "suffix"):
        return _affix(op, arg, d, negate=False)
    if op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise PatternError("equals-ignore-case match pattern must be a string")
        low = arg.lower()
        return lambda v: type(v) is str and v.lower() == low
    if op == "numeric":
        return numeric_pred(arg, _fail)
    if op == "cidr":
        return cidr_pred(arg, _fail)
    if op == "wildcard":
        wm = wildcard_matcher(arg, _fail)
        return lambda v: type(v) is str and wm(v)
    if op == "anything-but":
        return _anything_but(arg, d)
    raise PatternError(f"Unrecognized match type {op}")  # pragma: no cover


def _affix(op: str, arg: Any, d: Dialect, negate: bool) -> Pred:
    ignore_case = False
    if isinstance(arg, dict) and d.affix_ignore_case and not negate:
        if list(arg) != ["equals-ignore-case"]:
            raise PatternError(
                f"Unsupported {op} pattern: {next(iter(arg), '')}"
                if arg
                else f"{op} match pattern must be a string"
            )
        arg = arg["equals-ignore-case"]
        ignore_case = True
    if negate and isinstance(arg, list) and d.anything_but_lists:
        if not arg or not all(isinstance(a, str) for a in arg):
            raise PatternError("prefix/suffix match pattern must be a string")
        texts = tuple(arg)
    elif isinstance(arg, str):
        texts = (arg,)
    else:
        if negate:
            raise PatternError(
                "prefix/suffix match pattern must be a string"
                if d.anything_but_lists
                else f"{op} match pattern must be a string"
            )
        raise PatternError(f"{op} match pattern must be a string")
    if negate and any(t == "" for t in texts) and d.anything_but_lists:
        raise PatternError("Null prefix/suffix not allowed")
    if ignore_case:
        texts = tuple(t.lower() for t in texts)
    start = op == "prefix"

    if ignore_case:

        def hit(v: Any) -> bool:
            if type(v) is not str:
                return False
            s = v.lower()
            return s.startswith(texts) if start else s.endswith(texts)

    elif start:

        def hit(v: Any) -> bool:
            return type(v) is str and v.startswith(texts)

    else:

        def hit(v: Any) -> bool:
            return type(v) is str and v.endswith(texts)

    if negate:
        return lambda v: type(v) is str and not hit(v)
    return hit


def _anything_but(arg: Any, d: Dialect) -> Pred:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise PatternError("Only one key allowed in match expression")
        ((op, inner),) = arg.items()
        if op not in d.anything_but_ops:
            raise PatternError(f"Unsupported anything-but pattern: {op}")
        if op in ("prefix", "suffix"):
            return _affix(op, inner, d, negate=True)
        if op == "equals-ignore-case":
            items = inner if isinstance(inner, list) else [inner]
            if not items or not all(isinstance(i, str) for i in items):
                raise PatternError(
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean"
                    " is not supported."
                )
            lows = frozenset(i.lower() for i in items)
            return lambda v: type(v) is str and v.lower() not in lows
        if op == "wildcard":
            items = inner if isinstance(inner, list) else [inner]
            if not items:
                raise PatternError("Empty arrays are not allowed")
            wms = tuple(wildcard_matcher(i, _fail) for i in items)
            return lambda v: type(v) is str and not any(w(v) for w in wms)
        if op == "numeric":
            num = numeric_pred(inner, _fail)
            return lambda v: is_number(v) and not num(v)
        raise PatternError(f"Unsupported anything-but pattern: {op}")  # pragma: no cover
    if isinstance(arg, list):
        if not arg:
            raise PatternError("Empty arrays are not allowed")
        for a in arg:
            if not (isinstance(a, str) or is_number(a)):
                raise PatternError(
                    "Inside anything but list, start|null|boolean is not supported."
                )
        strs = frozenset(a for a in arg if isinstance(a, str))
        nums = frozenset(float(a) for a in arg if not isinstance(a, str))

        def not_in(v: Any) -> bool:
            t = type(v)
            if t is str:
                return v not in strs
            if t is int or t is float:
                return float(v) not in nums
            return False

        return not_in
    if isinstance(arg, str) or is_number(arg):
        one = arg
        return lambda v: _comparable(v) and not scalar_equal(v, one)
    raise PatternError("Value of anything-but must be an array or single string/number value.")


# -- evaluation -----------------------------------------------------------------------------


def leaf_values(v: Any, out: list[Any]) -> None:
    """Flatten an event value at a leaf: arrays are transparent, objects carry no value."""
    if type(v) is list:
        for x in v:
            leaf_values(x, out)
    elif type(v) is not dict:
        out.append(v)


def objects_in(v: Any) -> Iterator[dict[str, Any]]:
    """The objects of an event value: itself if an object, those inside arrays."""
    if type(v) is dict:
        yield v
    elif type(v) is list:
        for x in v:
            yield from objects_in(x)


_EMPTY: dict[str, Any] = {}


def eval_node(node: Node, obj: dict[str, Any]) -> bool:
    for key, sub in node.fields:
        if type(sub) is Leaf:
            if key not in obj:
                if not sub.exists_false:
                    return False
                continue
            v = obj[key]
            tv = type(v)
            if tv is list:
                vals: list[Any] = []
                leaf_values(v, vals)
                if not sub.matches(vals, True):
                    return False
            elif tv is dict:
                if not sub.exists_false:
                    return False
            elif not sub.exists_true:  # one scalar value: the common case, inlined
                for p in sub.preds:
                    if p(v):
                        break
                else:
                    return False
        else:
            v = obj.get(key)
            objs = list(objects_in(v)) if v is not None else []
            if objs:
                if not any(eval_node(sub, o) for o in objs):  # type: ignore[arg-type]
                    return False
            elif not eval_node(sub, _EMPTY):  # type: ignore[arg-type]
                return False
    for group in node.ors:
        if not any(eval_node(b, obj) for b in group):
            return False
    return True
