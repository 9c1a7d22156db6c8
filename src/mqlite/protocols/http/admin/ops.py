"""Change the core through the admin API: create, delete, purge, publish.

Each operation validates everything it can before its first change, so a rejected
request changes nothing (a 4xx problem); core errors become problems by
`problems.from_core`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.message import Attribute, Envelope
from mqlite.core.router import Destination
from mqlite.errors import MqliteError
from mqlite.protocols.http.admin import models as M
from mqlite.protocols.http.admin.problems import Problem, from_core
from mqlite.protocols.http.admin.views import find, queue_info, router_info, stream_info


def _body(req: M.PublishRequest, where: str) -> bytes:
    if req.body_encoding == "base64":
        try:
            return base64.b64decode(req.body, validate=True)
        except binascii.Error:
            raise Problem.invalid(f"{where}.body", "is not valid base64") from None
    return req.body.encode()


def create(core: BrokerCore, kind: str, req: Any) -> Any:
    try:
        if kind == "queues":
            attrs = dict(req.attributes)
            if req.fifo:
                attrs["fifo"] = True
            return queue_info(core, core.create_queue(req.name, **attrs))
        if kind == "streams":
            return stream_info(core, core.create_stream(req.name, req.partitions, req.config))
        if kind == "routers":
            return router_info(core.create_router(req.name, req.kind, req.config))
    except MqliteError as exc:
        raise from_core(exc) from None
    raise Problem.invalid("kind", "cannot be created through the admin API")


def delete(core: BrokerCore, kind: str, name: str) -> M.DeleteResult:
    find(core, kind, name)  # 404 first
    if kind == "queues":
        core.routers.remove_destination(Destination.queue(name))
        return M.DeleteResult(bool(core.delete_queue(name)))
    if kind == "streams":
        core.routers.remove_destination(Destination.stream(name))
        return M.DeleteResult(bool(core.delete_stream(name)))
    if kind == "routers":
        return M.DeleteResult(bool(core.delete_router(name)))
    return M.DeleteResult(bool(core.groups.delete(name)))


def purge(core: BrokerCore, kind: str, name: str) -> M.PurgeResult:
    obj = find(core, kind, name)
    if kind == "queues":
        return M.PurgeResult(int(obj.purge(include_in_flight=True).count))
    if kind == "streams":
        total = 0
        for p in range(obj.partition_count):
            total += obj.latest(p) - obj.earliest(p)
            obj.delete_records(p, obj.latest(p))
        return M.PurgeResult(total)
    raise Problem.invalid("kind", "only queues and streams can be purged")


def _check(core: BrokerCore, kind: str, obj: Any, req: M.PublishRequest, where: str) -> bytes:
    body = _body(req, where)
    if kind == "streams" and req.partition is not None and not 0 <= req.partition < obj.partition_count:
        raise Problem.invalid(f"{where}.partition", f"must be between 0 and {obj.partition_count - 1}")
    if kind not in ("queues", "streams", "routers"):
        raise Problem.invalid("kind", "messages are published to queues, streams and routers")
    return body


async def _publish_one(kind: str, obj: Any, req: M.PublishRequest, body: bytes) -> M.PublishResult:
    attributes = {k: Attribute("String", v) for k, v in req.attributes.items()}
    meta = {k: v.encode() for k, v in req.headers.items()}
    if kind == "queues":
        res = await obj.send(body, attributes, group_id=req.group_id, dedup_id=req.dedup_id,
                             meta=meta, routing_key=req.routing_key)
        return M.PublishResult(offset=res.offset, message_id=res.message_id)
    if kind == "streams":
        part, off = await obj.append(body, key=req.key, headers=list(meta.items()) or None,
                                     partition=req.partition)
        return M.PublishResult(partition=part, offset=off)
    env = Envelope(body, attributes, meta, routing_key=req.routing_key,
                   key=None if req.key is None else req.key.encode(),
                   group_id=req.group_id, dedup_id=req.dedup_id)
    result = await obj.publish(env)
    return M.PublishResult(routed=result.routed)


async def _publish_sns(aws: Any, topic: str, req: M.PublishRequest, body: bytes) -> M.PublishResult:
    """An SNS topic: through SNS's own Publish, so subscribers get SNS's envelope."""
    params: dict[str, Any] = {"TopicArn": aws.arn("sns", topic), "Message": body.decode(),
                              "MessageAttributes": {k: {"DataType": "String", "StringValue": v}
                                                    for k, v in req.attributes.items()}}
    if req.group_id is not None:
        params["MessageGroupId"] = req.group_id
    if req.dedup_id is not None:
        params["MessageDeduplicationId"] = req.dedup_id
    res = await aws.aws("sns", "Publish", params)
    return M.PublishResult(message_id=res.get("MessageId"), routed=None)


async def publish(core: BrokerCore, kind: str, name: str, reqs: list[M.PublishRequest],
                  aws: Any = None) -> list[M.PublishResult]:
    """Publish messages in order; all are checked before the first is sent. `aws` (a
    provisioning run) sends to SNS topics through SNS's Publish."""
    obj = find(core, kind, name)
    bodies = [_check(core, kind, obj, r, f"body.messages[{i}]") for i, r in enumerate(reqs)]
    sns = kind == "routers" and obj.kind == "sns" and aws is not None
    if sns:
        for i, body in enumerate(bodies):
            try:
                body.decode()
            except UnicodeDecodeError:
                raise Problem.invalid(f"body.messages[{i}].body", "must be text: SNS messages are UTF-8") from None
    out = []
    try:
        for req, body in zip(reqs, bodies, strict=True):
            out.append(await (_publish_sns(aws, name, req, body) if sns else _publish_one(kind, obj, req, body)))
    except MqliteError as exc:
        if hasattr(exc, "code") and isinstance(getattr(exc, "code", None), str):  # an SNS error
            raise Problem(400, "Invalid request", f"{exc.code}: {exc}", "about:blank") from None  # type: ignore[attr-defined]
        raise from_core(exc) from None
    return out
