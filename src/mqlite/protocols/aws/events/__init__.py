"""EventBridge front-end: every action of botocore's `events` model that mqlite serves.

`build(core, settings) -> ServiceFrontend` wires the action families (one module each:
`buses`, `permissions`, `rules` (with TestEventPattern), `targets`, `put_events`,
`archives`, `replays`, `connections`, `api_destinations`, `tags`) into one dispatch table
with the EventBridge error table (`errors.map_error`), on the per-core `EventsState`
(common.py), the target `Dispatcher` (delivery.py) and the `Scheduler` (schedule.py),
whose task runs on the server loop (every `events_schedule_interval` seconds,
default 1) and reads `core.clock`.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.events.api_destinations import ApiDestinationActions
from mqlite.protocols.aws.events.archives import ArchiveActions
from mqlite.protocols.aws.events.buses import BusActions
from mqlite.protocols.aws.events.common import EventsState, split_scope, state_for
from mqlite.protocols.aws.events.connections import ConnectionActions
from mqlite.protocols.aws.events.delivery import Dispatcher
from mqlite.protocols.aws.events.errors import map_error
from mqlite.protocols.aws.events.partners import PartnerActions
from mqlite.protocols.aws.events.permissions import PermissionActions
from mqlite.protocols.aws.events.put_events import PutEventsAction, iso_time
from mqlite.protocols.aws.events.replays import ReplayActions
from mqlite.protocols.aws.events.rules import RuleActions
from mqlite.protocols.aws.events.schedule import Scheduler
from mqlite.protocols.aws.events.tags import TagActions
from mqlite.protocols.aws.events.targets import TargetActions
from mqlite.protocols.aws.frontend import ServiceFrontend
from mqlite.protocols.aws.wire import AwsService
from mqlite.settings import Settings

_SERVICE: AwsService | None = None


def service() -> AwsService:
    """The EventBridge service model (json 1.1), loaded once per process."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = AwsService.load("events")
    return _SERVICE


def scheduled_event(state: EventsState, rule: dict[str, Any]) -> dict[str, Any]:
    """The event a scheduled rule sends its targets (EventBridge's "Scheduled Event")."""
    account, region = split_scope(rule["region"], state.account)
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": account,
        "time": iso_time(state.core.clock.now_ms() / 1000), "region": region,
        "resources": [rule["arn"]], "detail": {},
    }


def _fire(state: EventsState) -> Any:
    async def fire(key: str) -> None:
        rule = state.rules.get(key)
        if rule is None or rule.get("state") != "ENABLED":
            return
        event = scheduled_event(state, rule)
        body = orjson.dumps(event)
        for target in list(rule.get("targets", {}).values()):
            await state.delivery.deliver(rule, target, event, body)

    return fire


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    state = state_for(core, settings)
    state.ensure_region(settings.aws_region)
    state.delivery = Dispatcher(state)
    state.scheduler = Scheduler(core.clock, _fire(state))
    for rule in state.rules.values():
        if rule.get("schedule"):
            state.scheduler.arm(state.rule_key(rule["region"], rule["bus"], rule["name"]),
                                rule["schedule"], rule.get("state") == "ENABLED")
    try:
        asyncio.get_running_loop()
        state.scheduler.start(settings.events_schedule_interval)
    except RuntimeError:
        pass  # no loop (built outside the server): tests call fire_due() themselves
    buses = BusActions(state)
    perms = PermissionActions(state)
    rules = RuleActions(state)
    targets = TargetActions(state)
    put = PutEventsAction(state)
    archives = ArchiveActions(state)
    replays = ReplayActions(state, settings.events_replay_min_ms)
    state.replayer = replays
    conns = ConnectionActions(state)
    dests = ApiDestinationActions(state)
    tags = TagActions(state)
    partners = PartnerActions(state)
    handlers = {
        "CreateEventBus": buses.create_event_bus,
        "DescribeEventBus": buses.describe_event_bus,
        "ListEventBuses": buses.list_event_buses,
        "UpdateEventBus": buses.update_event_bus,
        "DeleteEventBus": buses.delete_event_bus,
        "PutPermission": perms.put_permission,
        "RemovePermission": perms.remove_permission,
        "PutRule": rules.put_rule,
        "DescribeRule": rules.describe_rule,
        "ListRules": rules.list_rules,
        "ListRuleNamesByTarget": rules.list_rule_names_by_target,
        "EnableRule": rules.enable_rule,
        "DisableRule": rules.disable_rule,
        "DeleteRule": rules.delete_rule,
        "TestEventPattern": rules.test_event_pattern,
        "PutTargets": targets.put_targets,
        "RemoveTargets": targets.remove_targets,
        "ListTargetsByRule": targets.list_targets_by_rule,
        "PutEvents": put.put_events,
        "CreateArchive": archives.create_archive,
        "DescribeArchive": archives.describe_archive,
        "ListArchives": archives.list_archives,
        "UpdateArchive": archives.update_archive,
        "DeleteArchive": archives.delete_archive,
        "StartReplay": replays.start_replay,
        "DescribeReplay": replays.describe_replay,
        "ListReplays": replays.list_replays,
        "CancelReplay": replays.cancel_replay,
        "CreateConnection": conns.create_connection,
        "DescribeConnection": conns.describe_connection,
        "ListConnections": conns.list_connections,
        "UpdateConnection": conns.update_connection,
        "DeleteConnection": conns.delete_connection,
        "DeauthorizeConnection": conns.deauthorize_connection,
        "CreateApiDestination": dests.create_api_destination,
        "DescribeApiDestination": dests.describe_api_destination,
        "ListApiDestinations": dests.list_api_destinations,
        "UpdateApiDestination": dests.update_api_destination,
        "DeleteApiDestination": dests.delete_api_destination,
        "TagResource": tags.tag_resource,
        "UntagResource": tags.untag_resource,
        "ListTagsForResource": tags.list_tags_for_resource,
        "CreatePartnerEventSource": partners.create_partner_event_source,
        "DescribePartnerEventSource": partners.describe_partner_event_source,
        "ListPartnerEventSources": partners.list_partner_event_sources,
        "DeletePartnerEventSource": partners.delete_partner_event_source,
        "DescribeEventSource": partners.describe_event_source,
        "ListEventSources": partners.list_event_sources,
    }

    async def close() -> None:
        await state.scheduler.stop()
        await replays.close()
        await state.delivery.close()

    return ServiceFrontend(service(), handlers, map_error, close=close)
