"""Apply a checked `Topology` to a running core, all or nothing, idempotently.

Each entity is declared through the front-end that owns it, so the rules, defaults
and records are exactly those of a client's request: SQS CreateQueue/TagQueue, SNS
CreateTopic/Subscribe, EventBridge CreateEventBus/PutRule/PutTargets (their handlers,
called with a local request context), AMQP exchange/queue declare and bind (the AMQP
broker of this core), core streams. Declaring what already exists with the same
settings changes nothing, so applying a file twice is a no-op.

All or nothing: references are checked first (a dead-letter queue, a subscription's
queue, a binding's exchange must be declared in the file or exist); then entities are
applied in dependency order and every entity this run created is remembered, so a
failure deletes them again (in reverse) before the error is raised. The error names
the file, the entity and, when the front-end says which, the field.
Concurrency: the core's event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.wire import Protocol
from mqlite.protocols.provision import model as T
from mqlite.protocols.provision.loader import ProvisionError
from mqlite.settings import Settings

log = logging.getLogger("mqlite.provision")

Undo = Callable[[], Any]


class Run:
    """One application: the AWS handlers, the AMQP broker, and what to undo."""

    def __init__(self, core: BrokerCore, settings: Settings, source: str) -> None:
        self.core = core
        self.settings = settings
        self.source = source
        self.undo: list[Undo] = []
        self._handlers: dict[str, dict[str, Any]] = {}
        self.ctx = AwsContext(
            region=settings.aws_region, account=settings.aws_account,
            host=f"{settings.host}:{settings.http_port or 4566}", scheme="http",
            protocol=Protocol.JSON, request_id="mqlite-init")

    def handler(self, service: str, action: str) -> Callable[[AwsContext, dict[str, Any]], Awaitable[Any]]:
        if service == "events" and service not in self._handlers:
            # EventBridge's build() starts a scheduler: use the one state's actions instead
            from mqlite.protocols.aws.events.buses import BusActions
            from mqlite.protocols.aws.events.common import state_for
            from mqlite.protocols.aws.events.rules import RuleActions
            from mqlite.protocols.aws.events.targets import TargetActions

            state = state_for(self.core, self.settings)
            buses, rules, targets = BusActions(state), RuleActions(state), TargetActions(state)
            self._handlers[service] = {"CreateEventBus": buses.create_event_bus, "PutRule": rules.put_rule,
                                       "PutTargets": targets.put_targets}
        if service not in self._handlers:
            import importlib

            module = importlib.import_module(f"mqlite.protocols.aws.{service}")
            self._handlers[service] = module.build(self.core, self.settings).handlers
        return self._handlers[service][action]  # type: ignore[no-any-return]

    async def aws(self, service: str, action: str, params: dict[str, Any]) -> Any:
        return await self.handler(service, action)(self.ctx, params)

    def arn(self, service: str, name: str) -> str:
        return f"arn:aws:{service}:{self.settings.aws_region}:{self.settings.aws_account}:{name}"

    def fail(self, entity: str, exc: BaseException) -> ProvisionError:
        text = getattr(exc, "text", None) or str(exc) or type(exc).__name__
        code = getattr(exc, "code", None)
        prefix = f"{code}: " if isinstance(code, str) and code not in text else ""
        return ProvisionError(f"{self.source}: {entity}: {prefix}{text}")


def _amqp(run: Run, topo: T.Topology) -> Any:
    if not (topo.vhosts or topo.exchanges or topo.amqp_queues or topo.bindings):
        return None
    from mqlite.protocols.amqp.broker import broker_for

    broker = broker_for(run.core)
    if broker is None:
        raise ProvisionError(f"{run.source}: exchanges, amqp_queues, bindings and vhosts need the "
                             "AMQP front-end, which is off (--amqp-port)")
    return broker


def _check_references(run: Run, topo: T.Topology, broker: Any) -> None:
    queues = {q.name for q in topo.queues} | set(run.core.list_queues())
    for q in topo.queues:
        if q.dead_letter is not None and q.dead_letter.queue not in queues:
            raise ProvisionError(f"{run.source}: queues[{q.name}].dead_letter.queue: "
                                 f"no queue named {q.dead_letter.queue!r}")
    for t in topo.topics:
        for i, s in enumerate(t.subscriptions):
            if s.protocol == "sqs" and ":" not in s.endpoint and s.endpoint not in queues:
                raise ProvisionError(f"{run.source}: topics[{t.name}].subscriptions[{i}].endpoint: "
                                     f"no queue named {s.endpoint!r}")
    vhosts = set(topo.vhosts) | ({"/"} | set(broker.vhosts) if broker is not None else {"/"})
    specs: list[Any] = [*topo.exchanges, *topo.amqp_queues, *topo.bindings]
    for spec in specs:
        if spec.vhost not in vhosts:
            label = getattr(spec, "name", None) or f"{spec.source}->{spec.destination}"
            raise ProvisionError(f"{run.source}: {label}.vhost: no virtual host {spec.vhost!r}")
    if broker is not None:
        exchanges = {(e.vhost, e.name) for e in topo.exchanges} | set(broker.exchanges)
        amqp_queues = {(q.vhost, q.name) for q in topo.amqp_queues} | set(broker.queues) | {
            ("/", n) for n in queues}
        for b in topo.bindings:
            where = f"bindings[{b.source}->{b.destination}]"
            if (b.vhost, b.source) not in exchanges:
                raise ProvisionError(f"{run.source}: {where}.source: no exchange {b.source!r} in vhost {b.vhost!r}")
            dest = exchanges if b.destination_type == "exchange" else amqp_queues
            if b.destination_type not in ("queue", "exchange"):
                raise ProvisionError(f"{run.source}: {where}.destination_type: must be 'queue' or 'exchange'")
            if (b.vhost, b.destination) not in dest:
                raise ProvisionError(f"{run.source}: {where}.destination: no {b.destination_type} "
                                     f"{b.destination!r} in vhost {b.vhost!r}")


async def _queues(run: Run, topo: T.Topology) -> None:
    # dead-letter queues first, so a RedrivePolicy names an existing queue
    targets = {q.dead_letter.queue for q in topo.queues if q.dead_letter}
    for q in sorted(topo.queues, key=lambda q: q.name not in targets):
        existed = q.name in run.core.list_queues()
        attrs = dict(q.attributes)
        if q.dead_letter is not None:
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": run.arn("sqs", q.dead_letter.queue),
                                                 "maxReceiveCount": q.dead_letter.max_receive_count})
        if q.name.endswith(".fifo"):
            attrs.setdefault("FifoQueue", "true")
        try:
            res = await run.aws("sqs", "CreateQueue", {"QueueName": q.name, "Attributes": attrs})
            if not existed:
                run.undo.append(partial(run.aws, "sqs", "DeleteQueue", {"QueueUrl": res["QueueUrl"]}))
            if q.tags:
                await run.aws("sqs", "TagQueue", {"QueueUrl": res["QueueUrl"], "Tags": q.tags})
        except MqliteError as exc:
            raise run.fail(f"queues[{q.name}]", exc) from None


async def _topics(run: Run, topo: T.Topology) -> None:
    for t in topo.topics:
        existed = run.core.routers.find(t.name) is not None
        try:
            params: dict[str, Any] = {"Name": t.name, "Attributes": dict(t.attributes)}
            if t.name.endswith(".fifo"):
                params["Attributes"].setdefault("FifoTopic", "true")
            if t.tags:
                params["Tags"] = [{"Key": k, "Value": v} for k, v in t.tags.items()]
            arn = (await run.aws("sns", "CreateTopic", params))["TopicArn"]
        except MqliteError as exc:
            raise run.fail(f"topics[{t.name}]", exc) from None
        if not existed:
            run.undo.append(partial(run.aws, "sns", "DeleteTopic", {"TopicArn": arn}))
        router = run.core.routers.get(t.name)
        for i, s in enumerate(t.subscriptions):
            before = {b.id for b in router.bindings()}
            endpoint = s.endpoint
            if s.protocol == "sqs" and ":" not in endpoint:
                endpoint = run.arn("sqs", endpoint)
            try:
                await run.aws("sns", "Subscribe", {"TopicArn": arn, "Protocol": s.protocol, "Endpoint": endpoint,
                                                   "Attributes": dict(s.attributes), "ReturnSubscriptionArn": True})
            except MqliteError as exc:
                raise run.fail(f"topics[{t.name}].subscriptions[{i}]", exc) from None
            for b in router.bindings():
                if b.id not in before:
                    run.undo.append(partial(router.unbind, b.id))


def _streams(run: Run, topo: T.Topology) -> None:
    for s in topo.streams:
        where = f"streams[{s.name}]"
        try:
            found = run.core.streams.find(s.name)
            if found is None:
                run.core.create_stream(s.name, s.partitions, s.config)
                run.undo.append(partial(run.core.delete_stream, s.name))
                continue
            if found.partition_count > s.partitions:
                raise ProvisionError(f"{run.source}: {where}.partitions: the stream has "
                                     f"{found.partition_count} partitions; they cannot be fewer")
            if found.partition_count < s.partitions:
                found.set_partitions(s.partitions)
            if s.config:
                found.set_config(s.config)
        except ProvisionError:
            raise
        except MqliteError as exc:
            raise run.fail(where, exc) from None


def _amqp_entities(run: Run, topo: T.Topology, broker: Any) -> None:
    for v in topo.vhosts:
        if v not in broker.vhosts:
            broker.add_vhost(v)
    for e in topo.exchanges:
        existed = (e.vhost, e.name) in broker.exchanges
        try:
            broker.declare_exchange(e.vhost, e.name, e.type, passive=False, durable=e.durable,
                                    auto_delete=e.auto_delete, internal=e.internal, arguments=dict(e.arguments))
        except MqliteError as exc:
            raise run.fail(f"exchanges[{e.name}]", exc) from None
        if not existed:
            run.undo.append(partial(broker.delete_exchange, e.vhost, e.name, False))
    for q in topo.amqp_queues:
        existed = (q.vhost, q.name) in broker.queues
        try:
            broker.declare_queue(None, q.vhost, q.name, passive=False, durable=q.durable, exclusive=False,
                                 auto_delete=q.auto_delete, arguments=dict(q.arguments))
        except MqliteError as exc:
            raise run.fail(f"amqp_queues[{q.name}]", exc) from None
        if not existed:
            run.undo.append(partial(broker.delete_queue, None, q.vhost, q.name, False, False))
    for b in topo.bindings:
        try:
            broker.bind(None, b.vhost, b.source, b.destination_type, b.destination, b.routing_key,
                        dict(b.arguments))
        except MqliteError as exc:
            raise run.fail(f"bindings[{b.source}->{b.destination}]", exc) from None
        run.undo.append(partial(broker.unbind, None, b.vhost, b.source, b.destination_type,
                                b.destination, b.routing_key, dict(b.arguments)))


async def _event_buses(run: Run, topo: T.Topology) -> None:
    from mqlite.protocols.aws.events.common import state_for

    state = state_for(run.core, run.settings)
    region = run.settings.aws_region
    for bus in topo.event_buses:
        if bus.name != "default" and state.bus(region, bus.name) is None:
            try:
                await run.aws("events", "CreateEventBus", {"Name": bus.name})
            except MqliteError as exc:
                raise run.fail(f"event_buses[{bus.name}]", exc) from None
            run.undo.append(partial(state.delete_bus, region, bus.name))
        for rule in bus.rules:
            where = f"event_buses[{bus.name}].rules[{rule.name}]"
            existed = state.rule(region, bus.name, rule.name) is not None
            params: dict[str, Any] = {"Name": rule.name, "EventBusName": bus.name, "State": rule.state}
            if rule.event_pattern is not None:
                pattern = rule.event_pattern
                params["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
            if rule.schedule:
                params["ScheduleExpression"] = rule.schedule
            if rule.description:
                params["Description"] = rule.description
            try:
                await run.aws("events", "PutRule", params)
                if not existed:
                    run.undo.append(partial(_delete_rule, state, region, bus.name, rule.name))
                if rule.targets:
                    targets = [{"Id": t.id, "Arn": t.arn, **({"Input": t.input} if t.input else {})}
                               for t in rule.targets]
                    res = await run.aws("events", "PutTargets", {"Rule": rule.name, "EventBusName": bus.name,
                                                                 "Targets": targets})
                    if res and res.get("FailedEntryCount"):
                        entry = res["FailedEntries"][0]
                        raise ProvisionError(f"{run.source}: {where}.targets[{entry.get('TargetId')}]: "
                                             f"{entry.get('ErrorMessage')}")
            except ProvisionError:
                raise
            except MqliteError as exc:
                raise run.fail(where, exc) from None


def _delete_rule(state: Any, region: str, bus: str, name: str) -> None:
    rule = state.rule(region, bus, name)
    if rule is not None:
        if state.scheduler is not None:
            state.scheduler.disarm(state.rule_key(region, bus, name))
        state.delete_rule(rule)


async def apply(core: BrokerCore, settings: Settings, topo: T.Topology, source: str) -> dict[str, int]:
    """Apply `topo` (see module docstring); returns the declared counts per section."""
    run = Run(core, settings, source)
    broker = _amqp(run, topo)
    _check_references(run, topo, broker)
    try:
        _streams(run, topo)
        await _queues(run, topo)
        if broker is not None:
            _amqp_entities(run, topo, broker)
        await _topics(run, topo)
        await _event_buses(run, topo)
    except BaseException:
        for undo in reversed(run.undo):
            try:
                result = undo()
                if hasattr(result, "__await__"):
                    await result
            except Exception:  # keep undoing the rest
                log.exception("undoing a partly applied %s failed", source)
        raise
    for note in getattr(topo, "skipped", []):
        log.warning("%s: not imported: %s", source, note)
    return topo.counts()
