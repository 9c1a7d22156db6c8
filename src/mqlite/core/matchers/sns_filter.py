"""SNS subscription filter policies: compile once, match published messages.

Both scopes: `MessageAttributes` (flat policy; attributes in the SNS shape
`{name: {"Type"|"DataType": ..., "Value"|"StringValue": ...}}` or core `Attribute`s;
String and String.Array values compare as strings/array elements, Number numerically,
Binary never by value) and `MessageBody` (the body must be a JSON object; nested keys;
arrays match when any element matches). Operators: exact string/number, `anything-but`
(value, list, `prefix`, `suffix`), `prefix`, `suffix`, `equals-ignore-case`, `numeric`,
`exists`, `cidr`, `$or`. Documented limits: at most 5 keys, at most 150 value
combinations, at most 256 KB; invalid policies raise `InvalidPattern('sns', msg)`
with AWS's `InvalidParameter` text ("Invalid parameter: FilterPolicy: ...").

Invariants: validation is complete at compile time; `matches` never raises.
Concurrency: pure; compiled policies are immutable and shareable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mqlite.core.errors import InvalidPattern
from mqlite.core.matchers.content import (
    OPAQUE,
    Dialect,
    Hint,
    Leaf,
    Node,
    PatternError,
    compile_node,
    eval_node,
)
from mqlite.core.matchers.hints import index_hints

LANGUAGE = "sns"
PREFIX = "Invalid parameter: FilterPolicy: "
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
SCOPES = ("MessageAttributes", "MessageBody")
NUMBER_DIGITS = 5  # "5 digits accuracy after the decimal point" (filter policy constraints)

DIALECT = Dialect(
    name="sns",
    operators=frozenset(
        {"prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case"}
    ),
    anything_but_ops=frozenset({"prefix", "suffix"}),
    affix_ignore_case=False,
    anything_but_lists=False,
    nested=True,
)


def _error(reason: str, prefix: str = PREFIX) -> InvalidPattern:
    err = InvalidPattern(LANGUAGE, prefix + reason)
    err.reason = reason  # type: ignore[attr-defined]
    return err


def combinations(policy: dict[str, Any], depth: int = 1, acc: int = 1) -> int:
    """AWS's complexity count: the product of array lengths (times nesting depth).

    Per the SNS "filter policy constraints" page: each array multiplies the total by its
    number of values and by the depth of its key; `$or` branches add up.
    """
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list) and value and all(
            isinstance(b, dict) for b in value
        ):
            acc = sum(combinations(b, depth, acc) for b in value)
        elif isinstance(value, dict):
            acc = combinations(value, depth + 1, acc)
        elif isinstance(value, list):
            acc = acc * len(value) * depth
    return acc


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    """A compiled SNS filter policy for one scope."""

    source: dict[str, Any]
    scope: str
    root: Node

    def matches(self, attributes: Mapping[str, Any] | None, body: Any = None) -> bool:
        """Match a message: `attributes` for MessageAttributes scope, `body` for
        MessageBody (bytes/str JSON text, or an already decoded object). Never raises."""
        if self.scope == "MessageBody":
            if isinstance(body, (bytes, bytearray, memoryview, str)):
                try:
                    body = orjson.loads(body)
                except orjson.JSONDecodeError:
                    return False
            if type(body) is not dict:
                return False
            return eval_node(self.root, rounded(body))
        return eval_node(self.root, attributes_view(attributes or {}))

    def hints(self) -> frozenset[Hint] | None:
        return index_hints(self.root)


def _five(v: Any) -> Any:
    """SNS compares numbers with five digits of accuracy after the decimal point."""
    return round(v, NUMBER_DIGITS) if type(v) is float else v


def rounded(obj: Any) -> Any:
    """A filter policy or JSON message body with its numbers at SNS's accuracy (`_five`)."""
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rounded(v) for v in obj]
    return _five(obj)


def attribute_values(attr: Any) -> list[Any] | None:
    """The comparable values of one SNS message attribute (None: unusable type)."""
    if hasattr(attr, "data_type"):
        dtype, value = attr.data_type, attr.value
    elif isinstance(attr, Mapping):
        dtype = attr.get("DataType") or attr.get("Type") or "String"
        value = attr.get("StringValue", attr.get("Value"))
        if value is None:
            value = attr.get("BinaryValue")
    else:
        return [attr]
    base = str(dtype).split(".", 1)[0]
    if dtype == "String.Array":
        try:
            arr = orjson.loads(value)
        except (orjson.JSONDecodeError, TypeError):
            return []
        # a JSON scalar counts as a one-element array; text that is no JSON matches nothing
        return [_five(x) for x in arr] if isinstance(arr, list) else [_five(arr)]
    if base == "Number":
        try:
            num = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return []
        return [int(num) if num.is_integer() and abs(num) < 2**53 else _five(num)]
    if base == "String":
        return [value.decode() if isinstance(value, bytes) else value]
    return [OPAQUE]  # Binary: present, but never compared


def attributes_view(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SNS attributes as the flat object a policy is evaluated against."""
    out: dict[str, Any] = {}
    for name, attr in attributes.items():
        vals = attribute_values(attr)
        if vals is None:
            out[name] = []
        else:  # one value as a scalar (arrays are transparent, so this is equivalent)
            out[name] = vals[0] if len(vals) == 1 else vals
    return out


def compile_sns_filter(
    policy: str | bytes | dict[str, Any], scope: str = "MessageAttributes"
) -> FilterPolicy:
    """Validate and compile; raise `InvalidPattern` with SNS's message."""
    if scope not in SCOPES:
        raise _error(
            "FilterPolicyScope: Invalid value [" + str(scope) + "]. Please use either"
            " MessageBody or MessageAttributes",
            prefix="Invalid parameter: Attributes Reason: ",
        )
    if isinstance(policy, dict):
        obj: Any = policy
        size = len(orjson.dumps(policy))
    else:
        raw = policy.encode() if isinstance(policy, str) else bytes(policy)
        size = len(raw)
        if size > MAX_POLICY_BYTES:
            raise _error("Filter policy is too long")
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _error(f"failed to parse JSON. {exc}") from None
    if size > MAX_POLICY_BYTES:
        raise _error("Filter policy is too long")
    if not isinstance(obj, dict):
        raise _error("Filter policy must be a JSON object")
    if len(obj) > MAX_KEYS:
        raise _error("Filter policy can not have more than 5 keys")
    if scope == "MessageAttributes" and any(
        isinstance(v, dict) for k, v in obj.items()
    ):
        raise _error(
            "Filter policy scope MessageAttributes does not support nested filter policy",
            prefix="Invalid parameter: ",
        )
    if combinations(obj) > MAX_COMBINATIONS:
        raise _error("Filter policy is too complex")
    try:
        # message values are rounded the same way (attribute_values, `matches` for bodies)
        root = compile_node(rounded(obj), DIALECT)
    except PatternError as exc:
        if exc.reason == "__nested__":  # pragma: no cover - handled above
            raise _error("Filter policy scope MessageAttributes does not support nested"
                         " filter policy", prefix="Invalid parameter: ") from None
        raise _error(exc.reason) from None
    if scope == "MessageAttributes":
        _check_flat(root)
    return FilterPolicy(obj, scope, root)


def _check_flat(node: Node) -> None:
    for _key, sub in node.fields:
        if type(sub) is not Leaf:
            raise _error(
                "Filter policy scope MessageAttributes does not support nested filter policy",
                prefix="Invalid parameter: ",
            )
    for group in node.ors:
        for b in group:
            _check_flat(b)


def sns_filter_matches(
    policy: str | bytes | dict[str, Any],
    attributes: Mapping[str, Any] | None,
    body: Any,
    scope: str = "MessageAttributes",
) -> bool:
    """Does a message match an SNS filter policy (SNS semantics, validation included)?"""
    return compile_sns_filter(policy, scope).matches(attributes, body)
