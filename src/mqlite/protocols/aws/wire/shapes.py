"""Input decoding: a request's parameters checked against the operation's input shape.

`from_json` / `from_json_fast` (decoded JSON) and `from_query` (flat `Key.1.Sub=value`
pairs, `QueryParams`). Output rendering lives in `render.py`. Python values: structures and maps are dicts, lists are lists, strings str,
integers/longs int, floats float, booleans bool, blobs bytes, timestamps float epoch
seconds (or datetime on output). Members a client sends that the model does not know are
ignored (as AWS does); wrong types, bad base64 and missing required members raise
`AwsError`. Enum and range constraints are left to the service handler, because each
service answers them with its own error codes.
The query rules mirror botocore's `QuerySerializer` and `QueryParser` exactly
(flattened lists and maps, `member`/`entry`/`key`/`value` defaults, `locationName`s).
Pure functions; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mqlite.protocols.aws.wire.errors import AwsError, missing_parameter

if TYPE_CHECKING:
    from botocore.model import Shape

_INT_TYPES = ("integer", "long", "short", "byte")
_FLOAT_TYPES = ("float", "double")
_EMPTY: dict[Any, Any] = {}  # an absent query-tree node (never written to)


def _type_error(path: str, expected: str, value: object, query: bool) -> AwsError:
    if query:
        return AwsError(
            "InvalidParameterValue",
            f"Value {value!r} for parameter {path} is invalid. Expected {expected}.",
            400,
        )
    return AwsError(
        "SerializationException",
        f"Value {value!r} at '{path}' can not be converted to {expected}",
        400,
        query_code="InvalidParameterValue",
    )


def _check_required(shape: Shape, value: Mapping[str, Any], path: str) -> None:
    for req in shape.required_members:
        if value.get(req) is None:
            raise missing_parameter(f"{path}.{req}" if path else req)


# -- JSON input ----------------------------------------------------------------------


def from_json(shape: Shape | None, value: Any, path: str = "") -> Any:
    """Validate and convert a decoded JSON value against `shape`."""
    if shape is None:
        return {}
    t = shape.type_name
    if value is None:
        return None
    if t == "structure":
        if not isinstance(value, dict):
            raise _type_error(path or shape.name, "a structure", value, False)
        out: dict[str, Any] = {}
        members = shape.members
        for key, raw in value.items():
            member = members.get(key)
            if member is None or raw is None:
                continue
            out[key] = from_json(member, raw, f"{path}.{key}" if path else key)
        _check_required(shape, out, path)
        return out
    if t == "list":
        if not isinstance(value, list):
            raise _type_error(path, "a list", value, False)
        return [from_json(shape.member, v, f"{path}.{i + 1}") for i, v in enumerate(value)]
    if t == "map":
        if not isinstance(value, dict):
            raise _type_error(path, "a map", value, False)
        return {
            from_json(shape.key, k, path): from_json(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
        }
    if t == "string":
        if not isinstance(value, str):
            raise _type_error(path, "a String", value, False)
        return value
    if t in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise _type_error(path, "an Integer", value, False)
        return value
    if t == "boolean":
        if not isinstance(value, bool):
            raise _type_error(path, "a Boolean", value, False)
        return value
    if t in _FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(path, "a Double", value, False)
        return float(value)
    if t == "blob":
        if not isinstance(value, str):
            raise _type_error(path, "a Blob (base64 string)", value, False)
        return _b64decode(value, path, False)
    if t == "timestamp":
        return _timestamp_in(value, path, False)
    return value


_IN_CACHE: dict[int, Any] = {}


# Compiled leaf validators: same results and messages as `from_json`, without its
# per-call type dispatch (`_compile_in` and the structure loop test identity with them).
def _str_in(value: Any) -> Any:
    if value.__class__ is not str:
        raise _Bad("a String", value)
    return value


def _int_in(value: Any) -> Any:
    if value.__class__ is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("an Integer", value)
    return value


def _bool_in(value: Any) -> Any:
    if value.__class__ is not bool:
        raise _Bad("a Boolean", value)
    return value


def _blob_in(value: Any) -> Any:
    """Base64 (strict: only the alphabet, correct padding) -> bytes."""
    if value.__class__ is not str:
        raise _Bad("a Blob (base64 string)", value)
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _Bad("a base64-encoded Blob", value) from None


_LEAF_CLASS: dict[Any, type] = {_str_in: str, _int_in: int, _bool_in: bool}


class _Bad(Exception):
    """Raised inside compiled converters; carries the path (innermost first)."""

    def __init__(self, expected: str, value: Any, missing: str | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.missing = missing
        self.parts: list[str] = []


def _compile_in(shape: Shape) -> Any:
    """A validating converter `fn(value)` for decoded JSON of `shape`; cached per shape.

    Paths are built only on error (each level adds its key to `_Bad.parts`)."""
    key = id(shape)
    hit = _IN_CACHE.get(key)
    if hit is not None and hit[0] is shape:
        return hit[1]

    def generic(value: Any, s: Shape = shape) -> Any:
        try:
            return from_json(s, value, "")
        except AwsError as exc:
            raise _Bad(exc.message, value) from None

    _IN_CACHE[key] = (shape, generic)  # recursion guard
    t = shape.type_name
    fn: Any
    if t == "string":
        fn = _str_in
    elif t in _INT_TYPES:
        fn = _int_in
    elif t == "boolean":
        fn = _bool_in
    elif t == "blob":
        fn = _blob_in
    elif t == "structure":
        members = {k: _compile_in(m) for k, m in shape.members.items()}
        required = tuple(shape.required_members)
        # Members whose valid values pass unchanged, by their exact class: a dict holding
        # only such members (none None, none unknown) is valid as it is and is returned
        # itself rather than copied (SQS batch entries, most top-level inputs).
        # Blob members (base64 text in, bytes out) are decoded into that same dict.
        leaf = {k: _LEAF_CLASS[c] for k, c in members.items() if c in _LEAF_CLASS}
        blobs = frozenset(k for k, c in members.items() if c is _blob_in)

        def fn(value: Any) -> Any:
            if value.__class__ is not dict:
                raise _Bad("a structure", value)
            pending = None
            for k, raw in value.items():
                if leaf.get(k) is not raw.__class__:
                    if k in blobs and raw.__class__ is str:
                        if pending is None:
                            pending = [k]
                        else:
                            pending.append(k)
                        continue
                    break
            else:
                for req in required:
                    if req not in value:
                        raise _Bad("", None, missing=req)
                if pending is not None:
                    for k in pending:
                        try:
                            value[k] = _blob_in(value[k])
                        except _Bad as bad:
                            bad.parts.append(k)
                            raise
                return value
            out = {}
            for k, raw in value.items():
                conv = members.get(k)
                if conv is None or raw is None:
                    continue
                if conv is _str_in and raw.__class__ is str:  # the common case, inline
                    out[k] = raw
                    continue
                try:
                    out[k] = conv(raw)
                except _Bad as bad:
                    bad.parts.append(k)
                    raise
            for req in required:
                if out.get(req) is None:
                    raise _Bad("", None, missing=req)
            return out
    elif t == "list":
        conv = _compile_in(shape.member)

        def fn(value: Any) -> Any:
            if value.__class__ is not list:
                raise _Bad("a list", value)
            out = []
            for i, v in enumerate(value):
                if v is None:
                    continue
                try:
                    out.append(conv(v))
                except _Bad as bad:
                    bad.parts.append(str(i + 1))
                    raise
            return out
    elif t == "map":
        kconv, vconv = _compile_in(shape.key), _compile_in(shape.value)

        def fn(value: Any) -> Any:
            if value.__class__ is not dict:
                raise _Bad("a map", value)
            out = {}
            for k, v in value.items():
                if v is None:
                    continue
                try:
                    out[kconv(k)] = vconv(v)
                except _Bad as bad:
                    bad.parts.append(str(k))
                    raise
            return out
    else:
        fn = generic
    _IN_CACHE[key] = (shape, fn)
    return fn


def from_json_fast(shape: Shape | None, value: Any) -> Any:
    """`from_json` through a per-shape compiled validator (the hot path).

    The result may be `value` itself, or share parts with it: a structure whose members
    are all valid as sent is returned rather than copied, with blob members replaced by
    their bytes in place (the caller owns the freshly decoded JSON)."""
    if shape is None:
        return {}
    if value is None:
        return None
    try:
        return _compile_in(shape)(value)
    except _Bad as bad:
        path = ".".join(reversed(bad.parts))
        if bad.missing is not None:
            raise missing_parameter(f"{path}.{bad.missing}" if path else bad.missing) from None
        if bad.expected.startswith("Value "):  # a message from the generic converter
            raise AwsError("SerializationException", bad.expected, 400, query_code="InvalidParameterValue") from None
        raise _type_error(path or shape.name, bad.expected, bad.value, False) from None


def _b64decode(value: str, path: str, query: bool) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _type_error(path, "a base64-encoded Blob", value, query) from None


def _timestamp_in(value: Any, path: str, query: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    raise _type_error(path, "a Timestamp", value, query)


# -- query input ---------------------------------------------------------------------


def query_tree(values: Mapping[str, str]) -> dict[Any, Any]:
    """The flat `Key.1.Sub=value` pairs of a query request as a tree: one node (dict) per
    dotted prefix, children by component, the node's own value (if any) under None."""
    root: dict[Any, Any] = {}
    for key, value in values.items():
        node = root
        for part in key.split("."):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[None] = value
    return root


def _serialized_name(shape: Shape, default: str) -> str:
    name: str = shape.serialization.get("name", default)
    return name


def _flattened_item_name(shape: Shape) -> str | None:
    """A flattened list whose member has its own name keeps its items under that name,
    beside the list's own (SQS's `AttributeName.1`, ...)."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        name = shape.member.serialization.get("name")
        return str(name) if name else None
    return None


_MEMBERS: dict[Shape, tuple[tuple[str, Shape, str, str | None, bool], ...]] = {}


def _members(shape: Shape) -> tuple[tuple[str, Shape, str, str | None, bool], ...]:
    """A structure's members as (key, shape, serialized name, flattened item name, is a
    string), computed once per shape (the models' shapes live as long as the process)."""
    found = _MEMBERS.get(shape)
    if found is None:
        found = _MEMBERS[shape] = tuple(
            (key, member, _serialized_name(member, key), _flattened_item_name(member),
             member.type_name == "string")
            for key, member in shape.members.items())
    return found


def from_query(shape: Shape | None, node: dict[Any, Any], prefix: str = "", parent: dict[Any, Any] | None = None) -> Any:
    """Decode the query tree `node` (the parameters under `prefix`) against `shape`;
    `parent` is the node above it (where a flattened named list keeps its items)."""
    if shape is None:
        return {}
    t = shape.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        for key, member, name, item_name, is_string in _members(shape):
            child = node.get(name)
            if child is None:
                if item_name is None or item_name not in node:
                    continue
                child = _EMPTY
            if is_string:  # the common leaf, decoded here rather than by a call
                val = child.get(None)
            else:
                val = from_query(member, child, f"{prefix}.{name}" if prefix else name, node)
            if val is not None:
                out[key] = val
        _check_required(shape, out, prefix)
        return out
    if t == "list":
        has_items = len(node) > (None in node)
        if not has_items and node.get(None) == "":
            return []
        if shape.serialization.get("flattened"):
            item_name = _flattened_item_name(shape)
            if item_name is not None:
                holder = (parent or {}).get(item_name, _EMPTY)
                list_prefix = ".".join(prefix.split(".")[:-1] + [item_name])
            else:
                holder, list_prefix = node, prefix
        else:
            item_name = shape.member.serialization.get("name", "member")
            holder, list_prefix = node.get(item_name, _EMPTY), f"{prefix}.{item_name}"
        items: list[Any] = []
        i = 1
        while (item := holder.get(str(i))) is not None:
            items.append(from_query(shape.member, item, f"{list_prefix}.{i}", holder))
            i += 1
        return items if items or None in node else None
    if t == "map":
        flattened = shape.serialization.get("flattened")
        entries = node if flattened else node.get("entry", _EMPTY)
        full = prefix if flattened else f"{prefix}.entry"
        kname = _serialized_name(shape.key, "key")
        vname = _serialized_name(shape.value, "value")
        result: dict[str, Any] = {}
        i = 1
        while (entry := entries.get(str(i))) is not None:
            knode = entry.get(kname)
            if knode is None:
                raise missing_parameter(f"{full}.{i}.{kname}")
            key = from_query(shape.key, knode, f"{full}.{i}.{kname}", entry)
            vnode = entry.get(vname)
            result[key] = None if vnode is None else from_query(shape.value, vnode, f"{full}.{i}.{vname}", entry)
            i += 1
        return result if result or None in node else None
    raw = node.get(None)
    if raw is None:
        return None
    if t == "string":
        return raw
    if t in _INT_TYPES:
        try:
            return int(raw)
        except ValueError:
            raise _type_error(prefix, "an integer", raw, True) from None
    if t == "boolean":
        low = raw.lower()
        if low in ("true", "false"):
            return low == "true"
        raise _type_error(prefix, "a boolean", raw, True)
    if t in _FLOAT_TYPES:
        try:
            return float(raw)
        except ValueError:
            raise _type_error(prefix, "a number", raw, True) from None
    if t == "blob":
        return _b64decode(raw, prefix, True)
    if t == "timestamp":
        return _timestamp_in(raw, prefix, True)
    return raw
