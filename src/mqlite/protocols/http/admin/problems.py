"""RFC 9457 problem details: the one error shape of the admin and reset endpoints.

`Problem(status, title, detail, type, field)` is raised by handlers and rendered by
the admin middleware as `application/problem+json`. Core errors map to problems in
`from_core` (not found -> 404, exists -> 409, invalid values -> 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from mqlite.errors import MqliteError

TYPE_BASE = "urn:mqlite:problem:"  # + invalid-request, not-found, conflict, forbidden


@dataclass(eq=False)
class Problem(Exception):
    """A problem document (RFC 9457)."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"
    field: str | None = None  # the request member at fault, when there is one

    def __post_init__(self) -> None:
        Exception.__init__(self, self.detail)

    @classmethod
    def invalid(cls, where: str, message: str) -> Problem:
        return cls(400, "Invalid request", f"{where} {message}", TYPE_BASE + "invalid-request", where)

    @classmethod
    def not_found(cls, kind: str, name: str) -> Problem:
        return cls(404, "Not found", f"no {kind} named {name!r}", TYPE_BASE + "not-found")

    def response(self, instance: str | None = None) -> web.Response:
        doc: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status,
                               "detail": self.detail}
        if instance:
            doc["instance"] = instance
        if self.field:
            doc["field"] = self.field
        return web.Response(status=self.status, body=orjson.dumps(doc),
                            content_type="application/problem+json")


def from_core(exc: MqliteError) -> Problem:
    """A core error as a problem: its class name says what kind of failure it is."""
    name = type(exc).__name__
    if name.endswith("NotFound") or name in ("NotFound",):
        return Problem(404, "Not found", str(exc), TYPE_BASE + "not-found")
    if name.endswith("Exists"):
        return Problem(409, "Conflict", str(exc), TYPE_BASE + "conflict")
    return Problem(400, "Invalid request", str(exc), TYPE_BASE + "invalid-request",
                   getattr(exc, "field", None) if isinstance(getattr(exc, "field", None), str) else None)
