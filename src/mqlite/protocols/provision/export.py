"""Write a running broker's topology in the format `--init` reads (`model.py`).

Read through the same front-ends `apply.py` declares through (SQS GetQueueAttributes
and ListQueueTags, SNS GetTopicAttributes and subscription attributes, the EventBridge
state, the AMQP broker's records, core streams), keeping only attributes a create
accepts, so `export` then `--init` on an empty broker rebuilds the same topology.
Messages are not exported: this is the topology, as RabbitMQ's definitions are.
"""

from __future__ import annotations

import json
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.naming import is_internal_stream
from mqlite.core.reset import origin_of_queue
from mqlite.protocols.provision.apply import Run
from mqlite.settings import Settings

SQS_SETTABLE = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
                "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedriveAllowPolicy",
                "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
                "Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
SNS_SETTABLE = ("DisplayName", "Policy", "DeliveryPolicy", "FifoTopic", "ContentBasedDeduplication",
                "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "ArchivePolicy")
# what a queue or topic has when created without attributes: not worth exporting
SQS_DEFAULTS = {"DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
                "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true"}
SUB_SETTABLE = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy",
                "DeliveryPolicy", "SubscriptionRoleArn")


async def _queues(run: Run) -> list[dict[str, Any]]:
    out = []
    for name in run.core.list_queues():
        if origin_of_queue(run.core, name) != "sqs":
            continue
        url = f"http://{run.ctx.host}/{run.settings.aws_account}/{name}"
        attrs = (await run.aws("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]}))
        attrs = attrs.get("Attributes", {}) if attrs else {}
        spec: dict[str, Any] = {"name": name,
                                "attributes": {k: v for k, v in attrs.items()
                                               if k in SQS_SETTABLE and SQS_DEFAULTS.get(k) != v}}
        if attrs.get("RedrivePolicy"):
            policy = json.loads(attrs["RedrivePolicy"])
            spec["dead_letter"] = {"queue": policy["deadLetterTargetArn"].rsplit(":", 1)[-1],
                                   "max_receive_count": int(policy["maxReceiveCount"])}
        tags = await run.aws("sqs", "ListQueueTags", {"QueueUrl": url})
        if tags and tags.get("Tags"):
            spec["tags"] = tags["Tags"]
        out.append(spec)
    return out


def _endpoint(run: Run, protocol: str, endpoint: str) -> str:
    prefix = run.arn("sqs", "")
    if protocol == "sqs" and endpoint.startswith(prefix):
        return endpoint[len(prefix):]
    return endpoint


async def _topics(run: Run) -> list[dict[str, Any]]:
    out = []
    for router in run.core.routers.routers():
        if router.kind != "sns":
            continue
        arn = run.arn("sns", router.name)
        attrs = (await run.aws("sns", "GetTopicAttributes", {"TopicArn": arn}) or {}).get("Attributes", {})
        subs = []
        listed = await run.aws("sns", "ListSubscriptionsByTopic", {"TopicArn": arn}) or {}
        for sub in listed.get("Subscriptions", []):
            sattrs = (await run.aws("sns", "GetSubscriptionAttributes",
                                    {"SubscriptionArn": sub["SubscriptionArn"]}) or {}).get("Attributes", {})
            subs.append({"protocol": sub["Protocol"], "endpoint": _endpoint(run, sub["Protocol"], sub["Endpoint"]),
                         "attributes": {k: v for k, v in sattrs.items() if k in SUB_SETTABLE}})
        kept = {k: v for k, v in attrs.items() if k in SNS_SETTABLE and v != ""
                and not (k == "Policy" and "__default_policy_ID" in v)}
        out.append({"name": router.name, "attributes": kept,
                    "subscriptions": subs})
    return out


def _streams(run: Run) -> list[dict[str, Any]]:
    out = []
    for name in run.core.list_streams():
        if is_internal_stream(name):
            continue
        s = run.core.streams.get(name)
        out.append({"name": name, "partitions": s.partition_count, "config": s.config.to_dict()})
    return out


def _amqp(run: Run, doc: dict[str, Any]) -> None:
    from mqlite.protocols.amqp.broker import broker_for

    broker = broker_for(run.core)
    if broker is None:
        return
    doc["vhosts"] = sorted(v for v in broker.vhosts if v != "/")
    doc["exchanges"] = [
        {"name": e.name, "type": e.type, "vhost": e.vhost, "durable": e.durable, "auto_delete": e.auto_delete,
         "internal": e.internal, "arguments": _plain(e.arguments)}
        for (vhost, name), e in sorted(broker.exchanges.items())
        if name and not e.builtin and e.durable]
    queues, bindings = [], []
    for (vhost, name), q in sorted(broker.queues.items()):
        if q.exclusive_owner is not None or not q.durable or name.startswith("amq."):
            continue
        if vhost != "/" or origin_of_queue(run.core, q.core_name) == "amqp":
            queues.append({"name": name, "vhost": vhost, "durable": q.durable, "auto_delete": q.auto_delete,
                           "arguments": _plain(q.arguments)})
        bindings += [(vhost, b) for b in q.bindings]
    for (vhost, _), e in sorted(broker.exchanges.items()):
        bindings += [(vhost, b) for b in e.e2e]
    doc["amqp_queues"] = queues
    doc["bindings"] = [
        {"source": b.source, "destination": b.destination, "destination_type": b.dest_kind,
         "routing_key": b.routing_key, "vhost": vhost, "arguments": _plain(b.arguments)}
        for vhost, b in bindings if b.source]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode(errors="replace")
    return value


def _event_buses(run: Run) -> list[dict[str, Any]]:
    from mqlite.protocols.aws.events.common import find_state

    state = find_state(run.core)
    if state is None:
        return []
    region = run.settings.aws_region
    out = []
    for bus in state.buses.values(f"{region}/"):
        rules = []
        for rule in state.rules.values(f"{region}/{bus['name']}/"):
            spec: dict[str, Any] = {"name": rule["name"], "state": rule.get("state", "ENABLED")}
            if rule.get("pattern"):
                spec["event_pattern"] = json.loads(rule["pattern"])
            for key, out_key in (("schedule", "schedule"), ("description", "description")):
                if rule.get(key):
                    spec[out_key] = rule[key]
            spec["targets"] = [{"id": t["Id"], "arn": t["Arn"], **({"input": t["Input"]} if t.get("Input") else {})}
                               for t in rule.get("targets", {}).values()]
            rules.append(spec)
        if bus["name"] != "default" or rules:
            out.append({"name": bus["name"], "rules": rules})
    return out


async def export(core: BrokerCore, settings: Settings) -> dict[str, Any]:
    """The topology document of `core` (see module docstring)."""
    run = Run(core, settings, "export")
    doc: dict[str, Any] = {"queues": await _queues(run), "topics": await _topics(run),
                           "streams": _streams(run)}
    _amqp(run, doc)
    doc["event_buses"] = _event_buses(run)
    return {k: v for k, v in doc.items() if v}
