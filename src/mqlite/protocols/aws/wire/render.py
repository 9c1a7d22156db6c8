"""Output rendering: a handler's result dict per the operation's output shape.

`to_json` / `to_json_fast` (JSON values for the `json` protocol; blobs base64, timestamps
epoch seconds) and `to_xml` (the inner XML of a `query` result element, mirroring
botocore's `QueryParser`: flattened lists and maps, `member`/`entry`/`key`/`value`
defaults, `locationName`s; blobs base64, timestamps ISO 8601). `to_json_fast` compiles
one converter per shape object (cached; strings, numbers and booleans pass through).
Pure functions; no I/O.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from mqlite.protocols.aws.wire.shapes import _FLOAT_TYPES, _INT_TYPES, _serialized_name

if TYPE_CHECKING:
    from botocore.model import Shape

# -- JSON output ---------------------------------------------------------------------


def _ts_epoch(value: Any) -> float | int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return float(value.timestamp())
    epoch: float | int = value
    return epoch


def _ts_iso(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromtimestamp(float(value), dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    stamp: str = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return stamp + "Z"


_OUT_CACHE: dict[int, Any] = {}
_IDENTITY_TYPES = ("string", "boolean", *_INT_TYPES)


def _compile_out(shape: Shape) -> Any:
    """A converter for `shape` (None = values pass through unchanged); cached per shape."""
    key = id(shape)
    hit = _OUT_CACHE.get(key)
    if hit is not None and hit[0] is shape:
        return hit[1]
    _OUT_CACHE[key] = (shape, None)  # recursion guard: recursive shapes pass through
    t = shape.type_name
    fn: Any
    if t in _IDENTITY_TYPES:
        fn = None
    elif t == "structure":
        convs = {k: _compile_out(m) for k, m in shape.members.items()}
        if all(c is None for c in convs.values()):
            fn = None  # nothing to convert anywhere below: the dict goes to orjson as is
        else:

            def fn(value: Any, convs: Any = convs) -> Any:
                out = {}
                for k, v in value.items():
                    if v is None or k not in convs:
                        continue
                    conv = convs[k]
                    out[k] = v if conv is None else conv(v)
                return out
    elif t == "list":
        conv = _compile_out(shape.member)
        fn = None if conv is None else (lambda value, c=conv: [c(v) for v in value])
    elif t == "map":
        conv = _compile_out(shape.value)
        fn = None if conv is None else (lambda value, c=conv: {k: c(v) for k, v in value.items()})
    else:
        fn = lambda value, s=shape: to_json(s, value)
    _OUT_CACHE[key] = (shape, fn)
    return fn


def to_json_fast(shape: Shape | None, value: Any) -> Any:
    """`to_json` through a per-shape compiled converter (the hot path).

    Subtrees with nothing to convert (no blob, timestamp or float below) are passed to
    orjson as they are, so handlers must return only the shape's members and leave
    absent members out (no None values): the contract of `frontend.Handler`."""
    if shape is None:
        return {}
    fn = _compile_out(shape)
    return value if fn is None else fn(value)


def to_json(shape: Shape | None, value: Any) -> Any:
    """A handler result as the JSON value the `json` protocol sends."""
    if shape is None or value is None:
        return {} if shape is None else None
    t = shape.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        members = shape.members
        for key, member in members.items():
            v = value.get(key)
            if v is not None:
                out[key] = to_json(member, v)
        return out
    if t == "list":
        return [to_json(shape.member, v) for v in value]
    if t == "map":
        return {k: to_json(shape.value, v) for k, v in value.items()}
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode("ascii")
    if t == "timestamp":
        return _ts_epoch(value)
    if t in _FLOAT_TYPES and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


# -- XML output ----------------------------------------------------------------------


def _xml_scalar(shape: Shape, value: Any) -> str:
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode("ascii")
    if t == "timestamp":
        return _ts_iso(value)
    return escape(str(value), {'"': "&quot;", "\r": "&#xD;"})


def _member_key_name(member: Shape, key: str) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        name: str | None = member.member.serialization.get("name")
        if name is not None:
            return name
    found: str = member.serialization.get("name", key)
    return found


def _xml_value(out: list[str], shape: Shape, name: str, value: Any) -> None:
    t = shape.type_name
    if t == "structure":
        out.append(f"<{name}>")
        _xml_members(out, shape, value)
        out.append(f"</{name}>")
    elif t == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                _xml_value(out, member, name, item)
        else:
            mname = member.serialization.get("name", "member")
            out.append(f"<{name}>")
            for item in value:
                _xml_value(out, member, mname, item)
            out.append(f"</{name}>")
    elif t == "map":
        kname = _serialized_name(shape.key, "key")
        vname = _serialized_name(shape.value, "value")
        flat = shape.serialization.get("flattened")
        if not flat:
            out.append(f"<{name}>")
        entry = name if flat else "entry"
        for k, v in value.items():
            out.append(f"<{entry}>")
            _xml_value(out, shape.key, kname, k)
            _xml_value(out, shape.value, vname, v)
            out.append(f"</{entry}>")
        if not flat:
            out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_xml_scalar(shape, value)}</{name}>")


def _xml_members(out: list[str], shape: Shape, value: Mapping[str, Any]) -> None:
    for key, member in shape.members.items():
        v = value.get(key)
        if v is None:
            continue
        _xml_value(out, member, _member_key_name(member, key), v)


def to_xml(shape: Shape | None, value: Mapping[str, Any]) -> str:
    """The inner XML of a query result element (the members of `shape`)."""
    if shape is None:
        return ""
    out: list[str] = []
    _xml_members(out, shape, value)
    return "".join(out)
