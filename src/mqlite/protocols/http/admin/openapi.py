"""Typed routes for the admin API and the OpenAPI 3.1 document generated from them.

A `Route` names its method, path, summary, handler and the dataclasses of its JSON
request body, query parameters and response; `document(routes)` turns those types into
an OpenAPI document (every dataclass a schema under `components/schemas`), and
`decode(cls, data, where)` builds a request dataclass from JSON, checking each field's
type, so the schema clients read and the checks the server applies come from one
declaration and cannot disagree.

Supported field types: str, int, float, bool, Any, `X | None`, `list[X]`,
`dict[str, X]`, `Literal[...]` and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mqlite.protocols.http.admin.problems import Problem

_PRIMITIVES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
    bool: {"type": "boolean"}, Any: {},
}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    summary: str
    handler: Callable[..., Awaitable[Any]]
    tag: str = "entities"
    body: type | None = None  # a dataclass: the JSON request body
    query: type | None = None  # a dataclass: the query parameters
    response: Any = None  # a dataclass (or list[...] of one): the 2xx JSON body
    status: int = 200
    errors: tuple[int, ...] = (400, 404)
    path_params: tuple[str, ...] = field(default=())


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def schema_of(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a type; dataclasses are added to `components` by name."""
    if tp in _PRIMITIVES:
        return dict(_PRIMITIVES[tp])
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = schema_of(inner[0], components) if len(inner) == 1 else {
            "anyOf": [schema_of(a, components) for a in inner]}
        return {"anyOf": [schema, {"type": "null"}]} if type(None) in args else schema
    if origin is list:
        return {"type": "array", "items": schema_of(args[0] if args else Any, components)}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(args[1] if args else Any, components)}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # placeholder: recursive types terminate
            hints = _hints(tp)
            props, required = {}, []
            for f in dataclasses.fields(tp):
                props[f.name] = schema_of(hints[f.name], components)
                if f.metadata.get("doc"):
                    props[f.name]["description"] = f.metadata["doc"]
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            components[name] = {"type": "object", "properties": props}
            text = (tp.__doc__ or "").strip()
            if text and not text.startswith(f"{name}("):  # not dataclass's generated one
                components[name]["description"] = text.split("\n")[0]
            if required:
                components[name]["required"] = required
        return {"$ref": f"#/components/schemas/{name}"}
    raise TypeError(f"no schema for {tp!r}")


def _content(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema_of(tp, components)}}


def document(routes: list[Route], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`."""
    components: dict[str, Any] = {}
    schema_of(Problem, components)
    paths: dict[str, Any] = {}
    for r in routes:
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag],
                              "operationId": r.handler.__name__.strip("_")}
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in r.path_params]
        if r.query is not None:
            hints = _hints(r.query)
            for f in dataclasses.fields(r.query):
                params.append({"name": f.name, "in": "query", "required": False,
                               "schema": schema_of(hints[f.name], components),
                               **({"description": f.metadata["doc"]} if f.metadata.get("doc") else {})})
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": _content(r.body, components)}
        ok: dict[str, Any] = {"description": "OK"}
        if r.response is not None:
            ok["content"] = _content(r.response, components)
        responses: dict[str, Any] = {str(r.status): ok}
        for code in (*r.errors, 403):
            responses[str(code)] = {"description": "problem", "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        op["responses"] = responses
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "mqlite admin API", "version": version,
                 "description": "One model for every entity, whatever protocol made it."},
        "paths": paths,
        "components": {"schemas": components},
    }


def _check(tp: Any, value: Any, where: str) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check(a, value, where)
            except Problem as exc:
                errors.append(exc)
        raise errors[0]
    if origin is list:
        if not isinstance(value, list):
            raise Problem.invalid(where, "must be an array")
        return [_check(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise Problem.invalid(where, "must be an object")
        return {str(k): _check(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise Problem.invalid(where, f"must be one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        return decode(tp, value, where)  # type: ignore[arg-type]
    ok = (isinstance(value, tp) and not (tp is int and isinstance(value, bool))) or (
        tp is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise Problem.invalid(where, f"must be {_PRIMITIVES[tp].get('type', tp.__name__)}")
    return value


def decode(cls: type, data: Any, where: str = "body") -> Any:
    """An instance of the dataclass `cls` from JSON `data`; Problem 400 naming the field."""
    if not isinstance(data, dict):
        raise Problem.invalid(where, "must be a JSON object")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise Problem.invalid(f"{where}.{unknown[0]}", "is not a known field")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _check(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise Problem.invalid(f"{where}.{f.name}", "is required")
    return cls(**values)


def decode_query(cls: type, query: Any) -> Any:
    """Query parameters (strings) converted by the field types, then `decode`d."""
    hints = _hints(cls)
    data: dict[str, Any] = {}
    for key, raw in query.items():
        tp = hints.get(key)
        base = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        target = base[0]
        try:
            if target is int:
                data[key] = int(raw)
            elif target is bool:
                data[key] = raw.lower() in ("1", "true", "yes")
            else:
                data[key] = raw
        except ValueError:
            raise Problem.invalid(f"query.{key}", "must be an integer") from None
    return decode(cls, data, "query")
