"""Kafka's JSON message schemas, loaded once: messages, fields, version ranges.

Owns: reading the package data `mqlite/protocols/kafka/schemas/*.json` (Apache Kafka's
`clients/src/main/resources/common/message/`, JSON with `//` comments; provenance and
licence in that directory's README.md and NOTICE) into immutable `MessageSpec`/`FieldSpec`
values that `codec` compiles into encoders and decoders.

Rules the JSON does not spell out (see the schemas' README.md): version ranges are
"N", "N+", "N-M" or "none"; a field's own `flexibleVersions` ("none" for the request
header's ClientId) overrides the message's; `commonStructs` name struct types shared
by several fields; a nested struct is named by its `type` (`[]Name` or `Name`).

Invariants: specs are plain data (frozen dataclasses), built at import of `codec` and
never mutated. No I/O besides reading the packaged schema files, each once.
Concurrency: read-only after load; safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import orjson

PRIMITIVES = frozenset(
    {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string", "bytes", "uuid", "records"}
)


@dataclass(frozen=True, slots=True)
class Versions:
    """An inclusive version range; `lo > hi` means none."""

    lo: int
    hi: int

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.lo <= version <= self.hi

    @staticmethod
    def parse(text: str | None) -> Versions:
        if text is None or text == "none":
            return NONE
        text = text.strip()
        if text.endswith("+"):
            return Versions(int(text[:-1]), 1 << 15)
        if "-" in text:
            lo, hi = text.split("-", 1)
            return Versions(int(lo), int(hi))
        return Versions(int(text), int(text))


NONE = Versions(1, 0)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # "int32", "[]int32", "string", "[]Topic", "Topic", ...
    versions: Versions
    nullable: Versions
    tagged: Versions
    tag: int | None
    default: str | None
    flexible: Versions | None  # field override of the message's flexible versions
    fields: tuple[FieldSpec, ...]  # for struct / struct-array types

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element(self) -> str:
        return self.type[2:] if self.is_array else self.type


@dataclass(frozen=True, slots=True)
class MessageSpec:
    name: str
    kind: str  # "request" | "response" | "header"
    api_key: int | None
    valid: Versions
    flexible: Versions
    fields: tuple[FieldSpec, ...]
    unstable: bool


def spec_dir() -> Traversable:
    """The schemas shipped inside the package (never a path outside it)."""
    return files(__package__) / "schemas"


_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*')


def strip_comments(text: str) -> str:
    """Remove `//` comments outside JSON strings."""
    return _TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)


def _field(raw: dict[str, Any], common: dict[str, list[dict[str, Any]]]) -> FieldSpec:
    ftype = raw["type"]
    element = ftype.removeprefix("[]")
    sub = raw.get("fields")
    if sub is None and element not in PRIMITIVES:
        sub = common.get(element, [])
    flex = raw.get("flexibleVersions")
    tag = raw.get("tag")
    return FieldSpec(
        name=raw["name"],
        type=ftype,
        versions=Versions.parse(raw.get("versions")),
        nullable=Versions.parse(raw.get("nullableVersions")),
        tagged=Versions.parse(raw.get("taggedVersions")),
        tag=int(tag) if tag is not None else None,
        default=str(raw["default"]) if "default" in raw else None,
        flexible=Versions.parse(flex) if flex is not None else None,
        fields=tuple(_field(f, common) for f in (sub or [])),
    )


def parse_message(text: str) -> MessageSpec:
    raw = orjson.loads(strip_comments(text))
    common = {c["name"]: c["fields"] for c in raw.get("commonStructs", [])}
    return MessageSpec(
        name=raw["name"],
        kind=raw["type"],
        api_key=raw.get("apiKey"),
        valid=Versions.parse(raw.get("validVersions")),
        flexible=Versions.parse(raw.get("flexibleVersions")),
        fields=tuple(_field(f, common) for f in raw["fields"]),
        unstable=bool(raw.get("latestVersionUnstable", False)),
    )


@cache
def load(name: str) -> MessageSpec:
    """Load one message by file stem, e.g. `load("FetchRequest")`."""
    return parse_message((spec_dir() / f"{name}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def api_names() -> dict[int, str]:
    """API key -> API name (the request file stem without `Request`)."""
    out: dict[int, str] = {}
    stems = sorted(p.name.removesuffix(".json") for p in spec_dir().iterdir() if p.name.endswith("Request.json"))
    for stem in stems:
        spec = load(stem)
        if spec.api_key is not None and spec.kind == "request":
            out[spec.api_key] = stem[: -len("Request")]
    return out
