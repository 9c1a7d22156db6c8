"""PutEvents: up to 10 entries per call, 1 MB in all; per-entry results.

The envelope is built exactly as EventBridge builds it, in its key order: `version`
("0"), `id` (a UUID), `detail-type`, `source`, `account`, `time` (the entry's Time,
else now; ISO 8601 UTC to the second), `region`, `resources` (the entry's, else []),
`detail` (the entry's Detail, a JSON object). Per-entry errors (the call still succeeds,
`FailedEntryCount` counts them): a missing Source / DetailType / Detail is
`InvalidArgument` ("Parameter Source is not valid. Reason: Source is a required
argument."), a Detail that is not a JSON object is `MalformedDetail` ("Detail is
malformed."), an unknown bus is `ResourceNotFoundException`, a Source in the reserved
`aws.` namespace is `NotAuthorizedForSourceException`. More than 10 entries, or
more than 1 MB (AWS's entry-size calculation: 14 bytes for Time, then the UTF-8 sizes of
Source, DetailType, Detail and each Resource) is a ValidationException for the call.
An entry's matched targets are delivered before PutEvents answers (queues and streams
inline, HTTP targets queued), so a consumer can receive right after.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson

from mqlite.protocols.aws.events.common import (
    DEFAULT_BUS,
    EventsState,
    bus_scope,
)
from mqlite.protocols.aws.events.errors import validation
from mqlite.protocols.aws.frontend import AwsContext

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 1024 * 1024


def iso_time(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch_s), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        if entry.get(key):
            size += len(entry[key].encode())
    for r in entry.get("Resources") or []:
        size += len(r.encode())
    return size


def build_event(account: str, region: str, entry: dict[str, Any], detail: Any, now_s: float) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": iso_time(entry["Time"] if entry.get("Time") is not None else now_s),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": detail,
    }


def _entry_error(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


class PutEventsAction:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _check(self, ctx: AwsContext, entry: dict[str, Any]) -> tuple[dict[str, str] | None, Any, tuple[str, str]]:
        for param in ("Source", "DetailType", "Detail"):
            if not entry.get(param):
                return _entry_error(
                    "InvalidArgument", f"Parameter {param} is not valid. Reason: {param} is a required argument."
                ), None, ("", "")
        if entry["Source"].startswith("aws."):
            return _entry_error("NotAuthorizedForSourceException", "Not authorized for the source."), None, ("", "")
        try:
            detail = orjson.loads(entry["Detail"])
        except orjson.JSONDecodeError:
            detail = None
        if not isinstance(detail, dict):
            return _entry_error("MalformedDetail", "Detail is malformed."), None, ("", "")
        key, bus = bus_scope(ctx, entry.get("EventBusName") or DEFAULT_BUS)
        if self.state.bus(key, bus) is None:
            return _entry_error("ResourceNotFoundException", f"Event bus {bus} does not exist."), None, ("", "")
        return None, detail, (key, bus)

    async def put_events(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutEvents: validate each entry, build its envelope, route it on its bus."""
        entries = p["Entries"]
        if len(entries) > MAX_ENTRIES:
            raise validation(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to "
                "satisfy constraint: Member must have length less than or equal to 10"
            )
        if not entries:
            raise validation(
                "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            )
        if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
            raise validation("Total size of the entries in the request is over the limit.")
        now_s = self.state.core.clock.now_ms() / 1000
        self.state.host = ctx.host
        dispatcher = self.state.delivery
        results: list[dict[str, str]] = []
        failed = 0
        for entry in entries:
            error, detail, (key, bus) = self._check(ctx, entry)
            if error is not None:
                results.append(error)
                failed += 1
                continue
            event = build_event(ctx.account, ctx.region, entry, detail, now_s)
            await dispatcher.publish(key, bus, event, orjson.dumps(event))
            results.append({"EventId": event["id"]})
        return {"FailedEntryCount": failed, "Entries": results}
