"""CreateArchive, DescribeArchive, ListArchives, UpdateArchive, DeleteArchive.

An archive is an internal mqlite stream (`__mqlite.events.archive.<region>.<name>`, one
partition; `core.naming.is_internal_stream`) holding every event of its source bus that matches its EventPattern (all events when
none), appended by a binding on the bus's router (see common.py); RetentionDays (0 or
absent = indefinitely) becomes the stream's retention. Names are 1-48 of
`[.\\-_A-Za-z0-9]`; a second archive of a name is ResourceAlreadyExistsException; a
missing one ResourceNotFoundException "Archive <n> does not exist."; an invalid pattern
InvalidEventPatternException; the source must be an existing bus ARN. EventCount and
SizeBytes come from the stream. Replayed events are never archived.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.core.naming import internal_stream_name, is_dot_name
from mqlite.protocols.aws.events.common import (
    EventsState,
    bus_name_of,
    bus_scope,
    drop_none,
    filter_listing,
    now_s,
    paginate,
    resource_arn,
    scope,
)
from mqlite.protocols.aws.events.errors import already_exists, not_found, validation
from mqlite.protocols.aws.events.rules import check_pattern
from mqlite.protocols.aws.frontend import AwsContext

ARCHIVE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,48}$")
STATES = ("ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED")
DAY_MS = 86_400_000


def stream_name(region: str, name: str) -> str:
    """The archive's internal stream (`core.naming` rule). The archive record stores the
    name it was created with, so archives of older data dirs keep their legacy
    `aws.events.archive.<region>.<name>` stream (still internal: LEGACY_INTERNAL_PREFIXES)."""
    account, colon, real_region = region.rpartition(":")  # the scope key (common.scope)
    return (f"{account}:" if colon else "") + internal_stream_name("events", "archive", real_region, name)


def require_archive(state: EventsState, ctx: AwsContext, name: str) -> dict[str, Any]:
    archive = state.archives.get(f"{scope(ctx)}/{name}")
    if archive is None:
        raise not_found(f"Archive {name} does not exist.")
    return archive


def _retention_ms(days: int | None) -> int:
    return days * DAY_MS if days else -1


class ArchiveActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _counts(self, archive: dict[str, Any]) -> tuple[int, int]:
        try:
            stream = self.state.core.streams.get(archive["stream"])
        except Exception:  # noqa: BLE001 - a deleted stream counts as empty
            return 0, 0
        part = stream.describe()["partitions"][0]
        return part["latest"] - part["earliest"], part["size_bytes"]

    def _view(self, archive: dict[str, Any], full: bool) -> dict[str, Any]:
        count, size = self._counts(archive)
        view = {
            "ArchiveName": archive["name"], "EventSourceArn": archive["source"],
            "State": archive.get("state", "ENABLED"), "RetentionDays": archive.get("retention", 0),
            "SizeBytes": size, "EventCount": count, "CreationTime": archive["created"],
        }
        if full:
            view.update(drop_none({"ArchiveArn": archive["arn"], "Description": archive.get("description"),
                                   "EventPattern": archive.get("pattern"),
                                   "KmsKeyIdentifier": archive.get("kms")}))
        return view

    async def create_archive(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateArchive: a stream of the source bus's matching events, with retention."""
        name = p["ArchiveName"]
        if is_dot_name(name):
            raise validation(f"Archive name {name} is not valid.")
        if not ARCHIVE_NAME.match(name):
            raise validation(
                f"1 validation error detected: Value '{name}' at 'archiveName' failed to satisfy "
                "constraint: Member must have length less than or equal to 48"
            )
        if self.state.archives.get(f"{scope(ctx)}/{name}") is not None:
            raise already_exists(f"Archive {name} already exists.")
        source = p["EventSourceArn"]
        if ":event-bus/" not in source:
            raise validation("Parameter EventSourceArn is not valid. Reason: Must contain an event bus ARN.")
        bus = self.state.bus(*bus_scope(ctx, source))
        if bus is None:
            raise not_found(f"Event bus {bus_name_of(source)} does not exist.")
        pattern = p.get("EventPattern")
        if pattern:
            check_pattern(pattern)
        retention = p.get("RetentionDays") or 0
        if retention < 0:
            raise validation("Parameter RetentionDays is not valid.")
        sname = stream_name(scope(ctx), name)
        core = self.state.core
        if core.streams.find(sname) is not None:
            core.streams.delete(sname)  # a leftover of an archive deleted earlier
        core.streams.create(sname, 1, {"retention_ms": _retention_ms(retention)})
        archive = drop_none({
            "name": name, "region": scope(ctx), "bus": bus["name"], "source": bus["arn"],
            "arn": resource_arn(ctx.region, ctx.account, "archive", name), "stream": sname,
            "pattern": pattern, "retention": retention, "description": p.get("Description"),
            "kms": p.get("KmsKeyIdentifier"), "state": "ENABLED", "created": now_s(),
        })
        self.state.archives.put(f"{scope(ctx)}/{name}", archive)
        self.state.sync_archive(archive)
        return {"ArchiveArn": archive["arn"], "State": "ENABLED", "CreationTime": archive["created"]}

    async def describe_archive(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeArchive: source, pattern, retention, event count and size."""
        return self._view(require_archive(self.state, ctx, p["ArchiveName"]), True)

    async def list_archives(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListArchives: at most one filter of NamePrefix, EventSourceArn, State."""
        items = filter_listing("ListArchives", self.state.archives.values(f"{scope(ctx)}/"), p,
                               STATES, default_state="ENABLED")
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"Archives": [self._view(a, False) for a in page]}
        if token:
            out["NextToken"] = token
        return out

    async def update_archive(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateArchive: description, pattern, retention days."""
        archive = dict(require_archive(self.state, ctx, p["ArchiveName"]))
        if "EventPattern" in p:
            if p["EventPattern"]:
                check_pattern(p["EventPattern"])
            archive["pattern"] = p["EventPattern"] or None
        if "Description" in p:
            archive["description"] = p["Description"]
        if "KmsKeyIdentifier" in p:
            archive["kms"] = p["KmsKeyIdentifier"]
        if "RetentionDays" in p:
            archive["retention"] = p["RetentionDays"] or 0
            self.state.core.streams.get(archive["stream"]).set_config(
                retention_ms=_retention_ms(archive["retention"])
            )
        archive = drop_none(archive)
        self.state.archives.put(f"{scope(ctx)}/{archive['name']}", archive)
        self.state.sync_archive(archive)
        return {"ArchiveArn": archive["arn"], "State": archive.get("state", "ENABLED"),
                "CreationTime": archive["created"]}

    async def delete_archive(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteArchive: the archive, its binding and its stream."""
        archive = require_archive(self.state, ctx, p["ArchiveName"])
        self.state.unbind_archive(archive)
        self.state.archives.delete(f"{scope(ctx)}/{archive['name']}")
        self.state.set_tags(archive["arn"], {})
        if self.state.core.streams.find(archive["stream"]) is not None:
            self.state.core.streams.delete(archive["stream"])
        return {}
