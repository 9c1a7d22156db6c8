"""StartReplay, DescribeReplay, ListReplays, CancelReplay.

A replay reads its archive's stream in order (the order events were archived, i.e. time
order) and re-sends each event whose archive time is within [EventStartTime,
EventEndTime) to the destination bus, with the field `replay-name` added to the
envelope, to the rules in Destination.FilterArns (all of the bus's rules when absent);
replayed events are never archived again. The destination must be the archive's source
bus ("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not
permitted."). States: STARTING -> RUNNING -> COMPLETED, or CANCELLING -> CANCELLED on
CancelReplay (IllegalStatusException once finished or already cancelling). A replay stays
RUNNING at least `settings.events_replay_min_ms` (default 1 s; AWS's take minutes), so a
CancelReplay right after StartReplay stops a running replay, as it does on AWS; a replay of a name that exists is
ResourceAlreadyExistsException. The replay runs as a task on the server loop.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
import re
from typing import Any

import orjson

from mqlite.protocols.aws.events.common import (
    EventsState,
    bus_name_of,
    drop_none,
    filter_listing,
    now_s,
    paginate,
    bus_scope,
    resource_arn,
    scope,
)
from mqlite.protocols.aws.events.errors import (
    already_exists,
    illegal_status,
    not_found,
    validation,
)
from mqlite.protocols.aws.frontend import AwsContext

log = logging.getLogger("mqlite.aws.events.replays")

REPLAY_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
STATES = ("STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED")
FINAL = ("COMPLETED", "CANCELLED", "FAILED")


def require_replay(state: EventsState, ctx: AwsContext, name: str) -> dict[str, Any]:
    replay = state.replays.get(f"{scope(ctx)}/{name}")
    if replay is None:
        raise not_found(f"Replay {name} does not exist.")
    return replay


class ReplayActions:
    def __init__(self, state: EventsState, min_ms: int = 0) -> None:
        self.state = state
        self.min_s = min_ms / 1000
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # A replay interrupted by a restart did not finish: it failed.
        for replay in list(state.replays.values()):
            if replay["state"] not in FINAL:
                replay = dict(replay, state="FAILED", reason="The replay was interrupted by a restart.",
                              ended=now_s())
                state.replays.put(f"{replay['region']}/{replay['name']}", replay)

    def _save(self, replay: dict[str, Any]) -> None:
        self.state.replays.put(f"{replay['region']}/{replay['name']}", replay)

    async def start_replay(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """StartReplay: re-send an archive's events of a time range to its bus's rules."""
        name = p["ReplayName"]
        if not REPLAY_NAME.match(name):
            raise validation(f"1 validation error detected: Value '{name}' at 'replayName' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        source = p["EventSourceArn"]
        dest = p["Destination"]  # checked first, as AWS does
        if ":event-bus/" not in dest["Arn"]:
            raise validation("Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.")
        if self.state.bus(*bus_scope(ctx, dest["Arn"])) is None:
            raise not_found(f"Event bus {bus_name_of(dest['Arn'])} does not exist.")
        archive_name = source.rsplit("/", 1)[-1] if ":archive/" in source else ""
        archive = self.state.archives.get(f"{scope(ctx)}/{archive_name}")
        if archive is None:
            raise validation(f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist.")
        if bus_name_of(dest["Arn"]) != archive["bus"]:
            raise validation("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
        start, end = float(p["EventStartTime"]), float(p["EventEndTime"])
        if start >= end:
            raise validation("Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
        if self.state.replays.get(f"{scope(ctx)}/{name}") is not None:
            raise already_exists(f"Replay {name} already exists.")
        replay = drop_none({
            "name": name, "region": scope(ctx), "arn": resource_arn(ctx.region, ctx.account, "replay", name),
            "description": p.get("Description"), "source": archive["arn"], "archive": archive_name,
            "bus": archive["bus"], "destination": dest, "start": start, "end": end,
            "state": "STARTING", "started": now_s(),
        })
        self._save(replay)
        task = self._tasks[replay["arn"]] = asyncio.get_running_loop().create_task(self._run(replay))
        task.add_done_callback(partial(self._cancelled_early, replay=replay))
        return {"ReplayArn": replay["arn"], "State": "STARTING", "ReplayStartTime": replay["started"]}

    async def _run(self, replay: dict[str, Any]) -> None:
        key = f"{replay['region']}/{replay['name']}"
        try:
            await asyncio.sleep(0)
            archive = self.state.archives.get(f"{replay['region']}/{replay['archive']}")
            current = self.state.replays.get(key) or replay
            if current["state"] == "CANCELLING":
                raise asyncio.CancelledError
            self._save(dict(current, state="RUNNING"))
            if archive is None:
                raise LookupError("the archive was deleted")
            stream = self.state.core.streams.get(archive["stream"])
            only = set(replay["destination"].get("FilterArns") or []) or None
            lo, hi = int(replay["start"] * 1000), int(replay["end"] * 1000)
            offset, end_offset = stream.earliest(0), stream.latest(0)
            last = None
            while offset < end_offset:
                records = stream.read(0, offset, 500)
                if not records:
                    break
                for record in records:
                    offset = record.offset + 1
                    if (self.state.replays.get(key) or {}).get("state") == "CANCELLING":
                        raise asyncio.CancelledError
                    if not lo <= record.timestamp < hi or record.value is None:
                        continue
                    event = orjson.loads(record.value)
                    event["replay-name"] = replay["name"]
                    await self.state.delivery.publish(
                        replay["region"], replay["bus"], event, orjson.dumps(event),
                        replay=replay["name"], only_rules=only,
                    )
                    last = record.timestamp / 1000
                await asyncio.sleep(0)
            left = replay["started"] + self.min_s - now_s()
            if left > 0:
                await asyncio.sleep(left)  # CancelReplay cancels this task meanwhile
            done = dict(self.state.replays.get(key) or replay, state="COMPLETED", ended=now_s())
            if last is not None:
                done["last"] = last
            self._save(done)
        except asyncio.CancelledError:
            self._save(dict(self.state.replays.get(key) or replay, state="CANCELLED", ended=now_s()))
        except Exception as exc:  # noqa: BLE001 - a failed replay is reported, not raised
            log.warning("replay %s failed: %s", replay["name"], exc)
            self._save(dict(self.state.replays.get(key) or replay, state="FAILED", reason=str(exc), ended=now_s()))
        finally:
            self._tasks.pop(replay["arn"], None)

    def _cancelled_early(self, task: asyncio.Task[None], *, replay: dict[str, Any]) -> None:
        """A task cancelled before it first ran never reaches `_run`'s handler."""
        self._tasks.pop(replay["arn"], None)
        key = f"{replay['region']}/{replay['name']}"
        current = self.state.replays.get(key) or replay
        if task.cancelled() and current["state"] not in FINAL:
            self._save(dict(current, state="CANCELLED", ended=now_s()))

    def _view(self, r: dict[str, Any], full: bool) -> dict[str, Any]:
        view = drop_none({
            "ReplayName": r["name"], "EventSourceArn": r["source"], "State": r["state"],
            "StateReason": r.get("reason"), "EventStartTime": r["start"], "EventEndTime": r["end"],
            "EventLastReplayedTime": r.get("last"), "ReplayStartTime": r["started"],
            "ReplayEndTime": r.get("ended"),
        })
        if full:
            view.update(drop_none({"ReplayArn": r["arn"], "Description": r.get("description"),
                                   "Destination": r["destination"]}))
        return view

    async def describe_replay(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeReplay: state, time range, last replayed time, destination."""
        return self._view(require_replay(self.state, ctx, p["ReplayName"]), True)

    async def list_replays(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListReplays: at most one filter of NamePrefix, EventSourceArn, State."""
        # EventBridge lists the replay states alphabetically in this message
        items = filter_listing("ListReplays", self.state.replays.values(f"{scope(ctx)}/"), p,
                               tuple(sorted(STATES)))
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"Replays": [self._view(r, False) for r in page]}
        if token:
            out["NextToken"] = token
        return out

    async def cancel_replay(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CancelReplay: a running replay stops (CANCELLING, then CANCELLED)."""
        replay = require_replay(self.state, ctx, p["ReplayName"])
        if replay["state"] in FINAL or replay["state"] == "CANCELLING":
            raise illegal_status(f"Replay {replay['name']} is not in a valid state for this operation.")
        self._save(dict(replay, state="CANCELLING"))
        task = self._tasks.get(replay["arn"])
        if task is not None:
            task.cancel()  # the task records CANCELLED
        return {"ReplayArn": replay["arn"], "State": "CANCELLING"}

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
