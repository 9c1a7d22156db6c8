"""Publish and PublishBatch: validate as AWS does, then route through the topic's router.

Rules (AWS's documented limits and texts): exactly one of TopicArn, TargetArn or
PhoneNumber; a non-empty Message; Subject at most 100 printable ASCII characters
without line breaks; MessageStructure only `json`, whose Message is a JSON object with
a string `default` entry; MessageAttributes named with A-Z a-z 0-9 _ - . (no leading,
trailing or doubled period, not `AWS.`/`Amazon.`, at most 256 characters), of type
String, Number, Binary or String.Array (custom `.suffix` allowed on the first three),
with a value; body + attributes at most 256 KiB. FIFO topics need MessageGroupId and a
MessageDeduplicationId (or ContentBasedDeduplication: SHA-256 of the message); a
repeated deduplication id within 5 minutes returns the first MessageId and
SequenceNumber and delivers nothing (also across a restart: the windows are kept in the
catalog, see common.py). Standard topics refuse MessageDeduplicationId.
PublishBatch: 1-10 entries with distinct Ids (alphanumeric, - and _, at most 80), the
whole batch at most 256 KiB; each entry succeeds or fails on its own; the accepted
entries are delivered together (fanout.py: one append per subscribed queue).
A published message becomes one core `Envelope` (body = the message or the json
`default`; attributes as core `Attribute`s; SNS facts in meta, see envelope.py), routed
by the topic's router (`Router.match`) and delivered per subscription by fanout.py
(Publish requests of one loop iteration, and a PublishBatch, share one append per
queue); each subscription's binding formats its own delivery (the `sns` transform).
Publishing to a phone number keeps the SMS in the outbox; a TargetArn that is not a
topic names a mobile endpoint, which an account without platform applications lacks.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from mqlite.core.message import Attribute, Envelope
from mqlite.core.router import Router
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import (
    MAX_MESSAGE_BYTES,
    SnsState,
    new_id,
    now_ms,
)
from mqlite.protocols.aws.sns.envelope import (
    M_BASE,
    M_ID,
    M_SEQ,
    M_SIGVER,
    M_STATE,
    M_STRUCTURE,
    M_SUBJECT,
    M_TOPIC,
    M_TS,
)
from mqlite.protocols.aws.sns.errors import invalid_parameter, invalid_value, not_found
from mqlite.protocols.aws.wire import AwsError

ATTR_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")
E164 = re.compile(r"^\+?[1-9][0-9]{1,14}$")
BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_BATCH = 10
_GOOD_NAMES: set[str] = set()  # attribute names that passed the checks (publishers reuse a few)


def _check_attributes(raw: dict[str, Any] | None) -> tuple[dict[str, Attribute], int]:
    """Validated core attributes and their size in bytes (name + type + value)."""
    out: dict[str, Attribute] = {}
    size = 0
    for name, spec in (raw or {}).items():
        if name not in _GOOD_NAMES:
            if (not ATTR_NAME.match(name) or name.startswith(".") or name.endswith(".") or ".." in name
                    or name.lower().startswith(("aws.", "amazon."))):
                raise invalid_value(f"Invalid attribute name: {name}")
            if len(_GOOD_NAMES) < 10_000:
                _GOOD_NAMES.add(name)
        dtype = spec.get("DataType") or ""
        base = dtype.split(".", 1)[0]
        if dtype != "String.Array" and base not in ("String", "Number", "Binary"):
            raise invalid_value(
                f"The message attribute '{name}' has an invalid message attribute type, the set"
                " of supported type prefixes is Binary, Number, and String.")
        if base == "Binary" and dtype != "String.Array":
            value: str | bytes | None = spec.get("BinaryValue")
            if not value:
                raise invalid_value(
                    f"The message attribute '{name}' must contain non-empty message attribute"
                    f" value for message attribute type '{base}'.")
            vlen = len(value)
        else:
            text: str | None = spec.get("StringValue")
            if text is None or text == "":
                raise invalid_value(
                    f"The message attribute '{name}' must contain non-empty message attribute"
                    f" value for message attribute type '{base}'.")
            if base == "Number":
                try:
                    num = Decimal(text)
                except InvalidOperation:
                    raise invalid_value(
                        f"Could not cast message attribute '{name}' value to number.") from None
                if not num.is_finite() or abs(num) > Decimal("1e308") or (num and abs(num) < Decimal("1e-308")):
                    raise invalid_value(f"Value {text} for parameter MessageAttributes is invalid."
                                        " Reason: numbers must be between -1e308 and 1e308")
            elif dtype == "String.Array":
                try:
                    arr = orjson.loads(text)
                except orjson.JSONDecodeError:
                    arr = None
                # A value that is not an array is accepted (it matches no filter); nested
                # objects or arrays inside one are refused.
                if isinstance(arr, list) and any(isinstance(x, (dict, list)) for x in arr):
                    raise invalid_parameter(
                        f"Invalid parameter: Message attribute '{name}' String.Array value must be"
                        " a JSON array of strings, numbers, booleans or null")
            vlen = len(text.encode())
            value = text
        out[name] = Attribute(dtype, value)
        size += len(name.encode()) + len(dtype) + vlen
    return out, size


def _reply(env: Envelope) -> dict[str, Any]:
    out = {"MessageId": env.meta[M_ID].decode()}
    if M_SEQ in env.meta:
        out["SequenceNumber"] = env.meta[M_SEQ].decode()
    return out


class PublishActions:
    """Publish and PublishBatch (see module docstring)."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self.coalescer = state.coalescer  # one per core: EventBridge's publishes share it
        self.platform: Any = None  # PlatformActions, for Publish to a platform endpoint

    def _target(self, params: dict[str, Any]) -> Router | str | None:
        topic, target, phone = params.get("TopicArn"), params.get("TargetArn"), params.get("PhoneNumber")
        given = [x for x in (topic, target, phone) if x]
        if not given:
            raise invalid_parameter(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
        if len(given) > 1:
            raise invalid_parameter(
                "Invalid parameter: TopicArn Reason: Only one of TopicArn, TargetArn or PhoneNumber"
                " may be given")
        if phone:
            return None
        arn = topic or target
        parts = str(arn).split(":")
        if target and len(parts) >= 6 and parts[2] == "sns" and parts[5].startswith("endpoint/"):
            return str(target)  # a platform endpoint (see publish)
        return self.state.topic_by_arn(arn, "TopicArn" if topic else "TargetArn")

    async def publish(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """Publish: one message to a topic (or an SMS to the outbox)."""
        router = self._target(params)
        if router is None:
            return self._sms(params)
        if isinstance(router, str):
            if not params.get("Message"):
                raise invalid_parameter("Invalid parameter: Empty message")
            published: dict[str, Any] = self.platform.publish_to_endpoint(router)
            return published
        return await self._publish_one(ctx, router, params)

    def _sms(self, params: dict[str, Any]) -> dict[str, Any]:
        from mqlite.protocols.aws.sns.outbox import keep

        message = params.get("Message") or ""
        if not E164.match(params["PhoneNumber"]):
            raise invalid_parameter("Invalid parameter: PhoneNumber Reason: Phone number does not meet the E164 format")
        if not message:
            raise invalid_parameter("Invalid parameter: Empty message")
        if len(message) > 1600:
            raise invalid_parameter("Invalid parameter: Message Reason: Message must be less than 1600 characters long")
        msg_id = new_id()
        keep(self.state, {"Type": "Notification", "Protocol": "sms", "Endpoint": params["PhoneNumber"],
                          "MessageId": msg_id, "Message": message})
        return {"MessageId": msg_id}

    def _prepare(self, ctx: AwsContext, router: Router, params: dict[str, Any]) -> tuple[Envelope, dict[str, Any] | None]:
        """Validate one message; (envelope, None) to route, or (_, reply) for a FIFO duplicate."""
        message = params.get("Message")
        if message is None or message == "":
            raise invalid_parameter("Invalid parameter: Empty message")
        subject = params.get("Subject")
        if subject is not None and len(subject) > 100:
            raise invalid_parameter("Subject must be less than 100 characters")
        if subject is not None and (not subject or any(not (32 <= ord(c) < 127) for c in subject)):
            raise invalid_parameter("Invalid parameter: Subject")
        structure = params.get("MessageStructure")
        per: dict[str, Any] | None = None
        if structure is not None:
            if structure != "json":
                raise invalid_parameter("Invalid parameter: MessageStructure")
            try:
                per = orjson.loads(message)
            except orjson.JSONDecodeError:
                raise invalid_parameter(
                    "Invalid parameter: Message Structure - JSON message body failed to parse") from None
            if not isinstance(per, dict) or not isinstance(per.get("default"), str):
                raise invalid_parameter(
                    "Invalid parameter: Message Structure - No default entry in JSON message body")
        attributes, attr_size = _check_attributes(params.get("MessageAttributes"))
        body = (per["default"] if per is not None else message).encode()
        if len(message.encode()) + attr_size > MAX_MESSAGE_BYTES:
            raise invalid_parameter("Invalid parameter: Message too long")
        info = SnsState.topic_info(router)
        tattrs = info.get("attributes", {})
        fifo = tattrs.get("FifoTopic") == "true"
        group = params.get("MessageGroupId")
        dedup = params.get("MessageDeduplicationId")
        if fifo:
            if not group:  # (in a PublishBatch, this fails the whole request)
                raise invalid_parameter(
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
            if not dedup:
                if tattrs.get("ContentBasedDeduplication") != "true":
                    raise invalid_parameter(
                        "Invalid parameter: The topic should either have ContentBasedDeduplication"
                        " enabled or MessageDeduplicationId provided explicitly")
                dedup = hashlib.sha256(message.encode()).hexdigest()
            for label, value in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
                if len(value) > 128:
                    raise invalid_parameter(f"Invalid parameter: {label} Reason: must be at most 128 characters")
        else:
            if dedup:
                raise invalid_parameter(
                    "Invalid parameter: MessageDeduplicationId Reason: The request includes"
                    " MessageDeduplicationId parameter that is not valid for this topic type")
            group = None
        msg_id = new_id()
        now = now_ms()
        meta: dict[str, bytes] = {
            M_ID: msg_id.encode(), M_TS: str(now).encode(),
            M_TOPIC: (info.get("arn") or "").encode(), M_BASE: ctx.base_url.encode(),
            M_STATE: self.state.token.encode(),
            M_SIGVER: tattrs.get("SignatureVersion", "1").encode(),
        }
        if subject is not None:
            meta[M_SUBJECT] = subject.encode()
        if per is not None:
            meta[M_STRUCTURE] = orjson.dumps(per)
        if fifo:
            assert dedup is not None
            key = dedup if tattrs.get("FifoThroughputScope") != "MessageGroup" else f"{group}\n{dedup}"
            hit = self.state.find_duplicate(router.name, key, now)
            if hit is not None:
                return Envelope(body=b""), {"MessageId": hit[0], "SequenceNumber": hit[1]}
            seq = self.state.next_sequence()
            self.state.remember_dedup(router.name, key, (now, msg_id, seq))
            meta[M_SEQ] = seq.encode()
        env = Envelope(body=body, attributes=attributes, meta=meta, group_id=group,
                       dedup_id=dedup if fifo else None, timestamp_ms=now)
        return env, None

    async def _publish_one(self, ctx: AwsContext, router: Router, params: dict[str, Any]) -> dict[str, Any]:
        env, duplicate = self._prepare(ctx, router, params)
        if duplicate is not None:
            return duplicate
        self.state.flush_dedup()
        await self.coalescer.deliver(router, env)
        return _reply(env)

    async def publish_batch(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """PublishBatch: up to 10 messages; per-entry Successful/Failed."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        entries = params.get("PublishBatchRequestEntries") or []
        if not entries:
            raise AwsError("EmptyBatchRequestException", "The batch request doesn't contain any entries")
        if len(entries) > MAX_BATCH:
            raise AwsError("TooManyEntriesInBatchRequestException",
                           "The batch request contains more entries than permissible.")
        ids = [e.get("Id", "") for e in entries]
        if len(set(ids)) != len(ids):
            raise AwsError("BatchEntryIdsNotDistinctException",
                           "Two or more batch entries in the request have the same Id.")
        for i in ids:
            if not BATCH_ID.match(i):
                raise AwsError("InvalidBatchEntryIdException",
                               "The Id of a batch entry in a batch request doesn't abide by the specification.")
        total = sum(len((e.get("Message") or "").encode()) for e in entries)
        if total > MAX_MESSAGE_BYTES:
            raise AwsError("BatchRequestTooLongException",
                           "The length of all the messages put together is more than the limit.")
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        routed: list[Envelope] = []
        for entry in entries:
            try:
                env, duplicate = self._prepare(ctx, router, entry)
            except AwsError as exc:
                if "MessageGroupId parameter is required" in exc.message:
                    raise
                code = {"InvalidParameterException": "InvalidParameter",
                        "InvalidParameterValueException": "ParameterValueInvalid"}.get(exc.code, exc.code)
                failed.append({"Id": entry["Id"], "Code": code, "Message": exc.message,
                               "SenderFault": True})
                continue
            reply = duplicate if duplicate is not None else _reply(env)
            if duplicate is None:
                routed.append(env)
            ok.append({"Id": entry["Id"], **reply})
        self.state.flush_dedup()
        await self.coalescer.deliver_many(router, routed)
        return {"Successful": ok, "Failed": failed}


__all__ = ["PublishActions", "not_found"]
