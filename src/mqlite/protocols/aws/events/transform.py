"""EventBridge target input: `Input`, `InputPath`, `InputTransformer` (paths map + template).

- `parse_path(text)` validates the JSONPath subset EventBridge accepts in InputPath and
  InputPathsMap values: `$`, then `.name`, `['name']` / `["name"]` and `[index]` steps
  (raising `PathError`); `extract(path, event)` returns the value or `MISSING`.
- `render_input(target, event, rule_arn, rule_name, ingestion_time)` -> the bytes the
  target receives: the event JSON by default; `Input` verbatim; the value at `InputPath`
  as JSON; or the InputTemplate with each `<var>` replaced. Placeholders: keys of
  InputPathsMap and the predefined `aws.events.rule-arn`, `aws.events.rule-name`,
  `aws.events.event.ingestion-time`, `aws.events.event` (the original event as JSON) and
  `aws.events.event.json` (the event as a JSON string value). When the template is JSON,
  a placeholder inside a string literal gets the value's text (strings without quotes,
  escaped for JSON), and one outside a string gets the value's JSON (strings quoted; a
  missing path is `null`); a text template gets strings as they are.
Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

MISSING: Any = object()
PREDEFINED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
              "aws.events.event", "aws.events.event.json")
_STEP = re.compile(r"""\.([^.\[\]]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[\s*(\d+)\s*\]""")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
VAR_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


class PathError(ValueError):
    """An InputPath / InputPathsMap value outside EventBridge's JSONPath subset."""


def parse_path(text: str) -> tuple[str | int, ...]:
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathError(text)
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise PathError(text)
        name = m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(3)
        steps.append(int(m.group(4)) if name is None else name)
        pos = m.end()
    return tuple(steps)


def extract(path: tuple[str | int, ...], event: Any) -> Any:
    value = event
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return MISSING
            value = value[step]
    return value


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _is_json_template(template: str, names: set[str]) -> bool:
    probe = _PLACEHOLDER.sub(lambda m: "0" if m.group(1) in names else m.group(0), template)
    try:
        orjson.loads(probe)
    except orjson.JSONDecodeError:
        return False
    return True


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill `<var>` placeholders (see module docstring); unknown names stay as written."""
    names = set(values)
    json_mode = _is_json_template(template, names)
    out: list[str] = []
    in_string = False
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "<":
            m = _PLACEHOLDER.match(template, i)
            if m is not None and m.group(1) in names:
                out.append(_insert(values[m.group(1)], m.group(1), in_string, json_mode))
                i = m.end()
                continue
        if json_mode:
            if ch == "\\" and in_string and i + 1 < n:
                out.append(template[i : i + 2])
                i += 2
                continue
            if ch == '"':
                in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def _insert(value: Any, name: str, in_string: bool, json_mode: bool) -> str:
    if name == "aws.events.event.json":
        text = _json(value)
        return _json(text)[1:-1] if in_string else _json(text)
    if value is MISSING:
        return "" if (in_string or not json_mode) else "null"
    if in_string:
        text = value if isinstance(value, str) else _json(value)
        return _json(text)[1:-1]
    if not json_mode and isinstance(value, str):
        return value
    return _json(value)


def render_input(
    target: Mapping[str, Any], event: dict[str, Any], body: bytes, rule_arn: str, rule_name: str,
    ingestion_time: str,
) -> bytes:
    """The bytes a target gets for one event (see module docstring)."""
    if "Input" in target and target["Input"] is not None:
        return str(target["Input"]).encode()
    if target.get("InputPath"):
        value = extract(parse_path(target["InputPath"]), event)
        return b"null" if value is MISSING else orjson.dumps(value)
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": ingestion_time,
            "aws.events.event": event,
            "aws.events.event.json": event,
        }
        for var, path in (transformer.get("InputPathsMap") or {}).items():
            values[var] = extract(parse_path(path), event)
        return render_template(transformer["InputTemplate"], values).encode()
    return body


def validate_target_input(target: Mapping[str, Any]) -> str | None:
    """The ValidationException message for a bad Input/InputPath/InputTransformer, or None."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        return "Only one of Input, InputPath, or InputTransformer must be provided."
    if target.get("Input") is not None:
        try:
            orjson.loads(target["Input"])
        except orjson.JSONDecodeError:
            return "Input is not valid JSON text."
    if target.get("InputPath") is not None:
        try:
            parse_path(target["InputPath"])
        except PathError:
            return f"InputPath {target['InputPath']} is not a valid JSON path."
    transformer = target.get("InputTransformer")
    if transformer is not None:
        if len(transformer.get("InputTemplate") or "") > 8192:
            return ("1 validation error detected: Value at 'inputTemplate' failed to satisfy constraint: "
                    "Member must have length less than or equal to 8192")
        paths = transformer.get("InputPathsMap") or {}
        if len(paths) > 100:
            return "InputPathsMap can have at most 100 entries."
        for var, path in paths.items():
            if not VAR_NAME.match(var) or var.startswith("aws."):
                return f"Variable name {var} in InputPathsMap is not valid."
            try:
                parse_path(path)
            except PathError:
                return f"JSON path {path} of variable {var} in InputPathsMap is not valid."
    return None
