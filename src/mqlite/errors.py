"""The root of every error mqlite raises: one hierarchy, three branches.

`MqliteError` is the only root. `StorageError` (storage/), `CoreError` (core/) and
`ProtocolError` (protocols/) are its branches; each layer defines its concrete errors
in its own `errors` module under its branch. Core errors carry the facts a front-end
needs (`rule`, and whatever fields the subclass adds), and each front-end maps them in
one table to its wire codes. This module imports nothing, so every layer may import it.
"""

from __future__ import annotations


class MqliteError(Exception):
    """Base of all mqlite errors. `rule` names the documented rule that was broken."""

    rule: str = ""

    def __init__(self, message: str = "", *, rule: str = "") -> None:
        super().__init__(message)
        if rule:
            self.rule = rule

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class StorageError(MqliteError):
    """The storage engine refused or failed an operation."""


class CoreError(MqliteError):
    """A core-model rule was broken (bad name, out-of-range value, missing entity...)."""


class ProtocolError(MqliteError):
    """A peer broke its wire protocol; the front-end replies or closes per its spec."""
