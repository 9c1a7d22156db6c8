"""SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility (and the per-entry
rules the batch actions share).

Send rules (SendMessage reference): body non-empty, only XML-allowed characters
(`InvalidMessageContents`), body + attributes <= the queue's MaximumMessageSize (at most
1 MiB); at most 10 message attributes with valid names, types and values; DelaySeconds
0-900 and not per message on FIFO queues; FIFO needs MessageGroupId and a deduplication
id unless ContentBasedDeduplication (then SHA-256 of the body). Receive: MaxNumberOfMessages
1-10, WaitTimeSeconds 0-20 (default: the queue's ReceiveMessageWaitTimeSeconds),
VisibilityTimeout 0-43200; system attributes by name or `All`; message attributes by
name, `All`, `.*` or a `prefix.*` (every name starting with the prefix). MD5OfMessageBody/MD5OfMessageAttributes as SQS
computes them. Concurrency: the server's event loop; receive may await (long poll).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from mqlite.core.api import BrokerCore, Message, Queue
from mqlite.core.message import Attribute, Envelope
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import (
    md5_hex,
    md5_of_attributes,
    name_from_url,
    queue_arn,
)
from mqlite.protocols.aws.wire import AwsError

_BAD_CHARS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
TRACE_META = "sqs.trace"
SENDER_META = "sqs.sender"
SYSTEM_ATTRIBUTES = (
    "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
    "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


NO_DEDUP_ID = "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"


# Members of a SendMessage / batch entry that need no rule beyond the body's.
_PLAIN_KEYS = frozenset({"Id", "QueueUrl", "MessageBody"})


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def _param_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise invalid(f"Value {value} for parameter {name} is invalid. Reason: Must be between {lo} and {hi}, if provided.")


class Prepared:
    """One validated send: what the core's `send` takes, plus the MD5s to answer."""

    __slots__ = ("attributes", "body", "dedup_id", "delay", "group_id", "md5_attrs", "md5_body", "md5_sys", "meta")

    def __init__(self) -> None:
        self.body = b""
        self.attributes: dict[str, Attribute] = {}
        self.delay: int | None = None
        self.group_id: str | None = None
        self.dedup_id: str | None = None
        self.meta: dict[str, bytes] = {}
        self.md5_body = ""
        self.md5_attrs: str | None = None
        self.md5_sys: str | None = None

    def envelope(self) -> Envelope:
        return Envelope(
            body=self.body, attributes=self.attributes, meta=self.meta, group_id=self.group_id,
            dedup_id=self.dedup_id, delay=self.delay,
        )


def _user_attributes(attrs: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Attribute], int]:
    if len(attrs) > 10:
        raise invalid(f"Number of message attributes [{len(attrs)}] exceeds the allowed maximum [10].")
    out: dict[str, Attribute] = {}
    size = 0
    for name, value in attrs.items():
        low = name.lower()
        if (
            not _ATTR_NAME.match(name) or name.startswith(".") or name.endswith(".") or ".." in name
            or low.startswith(("aws.", "amazon."))
        ):
            raise invalid(f"The message attribute name '{name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.")
        dtype = value.get("DataType") or ""
        base = dtype.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or len(dtype) > 256:
            raise invalid(f"The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
        if base == "Binary":
            raw = value.get("BinaryValue")
            if raw is None or len(raw) == 0:
                raise invalid(f"Message (user) attribute '{name}' must contain a non-empty message attribute value for message attribute type '{dtype}'.")
            out[name] = Attribute(dtype, bytes(raw))
            size += len(name.encode()) + len(dtype) + len(raw)
        else:
            text = value.get("StringValue")
            if text is None or text == "":
                raise invalid(f"Message (user) attribute '{name}' must contain a non-empty message attribute value for message attribute type '{dtype}'.")
            if base == "Number" and not _NUMBER.match(text.strip()):
                raise invalid(f"Can't cast the value of message (user) attribute '{name}' to a number.")
            if _BAD_CHARS.search(text):
                raise AwsError("InvalidMessageContents", f"Invalid characters found in message attribute '{name}'.", 400)
            out[name] = Attribute(dtype, text)
            size += len(name.encode()) + len(dtype) + len(text.encode())
    return out, size


def prepare_send(ctx: AwsContext, queue: Queue, p: Mapping[str, Any]) -> Prepared:
    """Validate one SendMessage (or batch entry) against the queue; raise AwsError."""
    cfg = queue.config
    text = p.get("MessageBody")
    if text is None or text == "":
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.", 400)
    if not (text.isascii() and text.isprintable()) and _BAD_CHARS.search(text):
        raise AwsError("InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", 400)
    out = Prepared()
    out.body = text.encode()
    if p.keys() <= _PLAIN_KEYS and not cfg.fifo and not (ctx.verified and ctx.access_key):
        # Fast path, the common case: a body alone on a standard queue (the rules below
        # would find nothing else to check or record).
        if len(out.body) > cfg.max_message_bytes:
            raise invalid(f"One or more parameters are invalid. Reason: Message must be shorter than {cfg.max_message_bytes} bytes.")
        out.md5_body = md5_hex(out.body)
        return out
    raw_attrs = p.get("MessageAttributes") or {}
    out.attributes, attr_size = _user_attributes(raw_attrs)
    if len(out.body) + attr_size > cfg.max_message_bytes:
        raise invalid(f"One or more parameters are invalid. Reason: Message must be shorter than {cfg.max_message_bytes} bytes.")
    delay = p.get("DelaySeconds")
    if delay is not None:
        if not 0 <= delay <= 900:
            raise invalid(f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")
        if cfg.fifo and delay != 0:
            raise invalid(f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")
        out.delay = delay
    group = p.get("MessageGroupId")
    dedup = p.get("MessageDeduplicationId")
    if cfg.fifo:
        if not group:
            raise AwsError("MissingParameter", "The request must contain the parameter MessageGroupId.", 400)
        if dedup is None:
            if not cfg.content_based_dedup:
                raise AwsError("InvalidParameterValue", NO_DEDUP_ID, 400)
            dedup = hashlib.sha256(out.body).hexdigest()
    elif dedup is not None:
        raise invalid(f"Value {dedup} for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.")
    for pname, pval in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
        if pval is not None and (len(pval) > 128 or not re.fullmatch(r"[!-~]+", pval)):
            raise invalid(f"Value {pval} for parameter {pname} is invalid. Reason: Must be 1-128 printable ASCII characters.")
    out.group_id = group
    out.dedup_id = dedup
    sysattrs = p.get("MessageSystemAttributes") or {}
    for name, value in sysattrs.items():
        if name != "AWSTraceHeader" or value.get("DataType") != "String" or not value.get("StringValue"):
            raise invalid(f"Message system attribute name '{name}' is invalid.")
        out.meta[TRACE_META] = value["StringValue"].encode()
    if sysattrs:
        out.md5_sys = md5_of_attributes(sysattrs)
    if ctx.verified and ctx.access_key:
        # SenderId is an identity only when signatures are checked; otherwise it is the
        # account, and a plain message stays header-free in the log.
        out.meta[SENDER_META] = ctx.access_key.encode()
    out.md5_body = md5_hex(out.body)
    if raw_attrs:
        out.md5_attrs = md5_of_attributes(raw_attrs)
    return out


async def send_prepared(queue: Queue, prep: Prepared) -> Any:
    return await queue.send_envelope(prep.envelope())


def send_reply(prep: Prepared, result: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageId": _result_id(result), "MD5OfMessageBody": prep.md5_body}
    if prep.md5_attrs:
        out["MD5OfMessageAttributes"] = prep.md5_attrs
    if prep.md5_sys:
        out["MD5OfMessageSystemAttributes"] = prep.md5_sys
    seq = getattr(result, "sequence_number", None)
    if seq is not None and prep.group_id is not None:
        out["SequenceNumber"] = str(seq)
    return out


def _result_id(result: Any) -> str:
    return str(result.message_id)


def _wire_attribute(attr: Attribute) -> dict[str, Any]:
    if isinstance(attr.value, (bytes, bytearray)):
        return {"DataType": attr.data_type, "BinaryValue": bytes(attr.value)}
    return {"DataType": attr.data_type, "StringValue": attr.value}


def _wants(names: list[str], name: str) -> bool:
    for n in names:
        if n in ("All", ".*") or n == name or (n.endswith(".*") and name.startswith(n[:-2])):
            return True
    return False


def render_message(
    ctx: AwsContext, msg: Message, sys_names: set[str], attr_names: list[str], fifo: bool
) -> dict[str, Any]:
    """One received message in the SQS `Message` shape."""
    raw = msg.body
    if raw.__class__ is bytes:
        try:
            body = raw.decode()  # valid UTF-8 (every SQS-sent body): hash the stored bytes
        except UnicodeDecodeError:
            body = raw.decode("utf-8", "replace")
            raw = body.encode()
    else:
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytearray) else str(raw)
        raw = body.encode()
    out: dict[str, Any] = {
        "MessageId": msg.id,
        "ReceiptHandle": msg.receipt,
        "MD5OfBody": md5_hex(raw),
        "Body": body,
    }
    if sys_names:
        every = "All" in sys_names
        meta = msg.meta or {}
        facts: dict[str, Any] = {
            "SenderId": (meta.get(SENDER_META) or ctx.account.encode()).decode(),
            "SentTimestamp": str(msg.sent_timestamp),
            "ApproximateReceiveCount": str(msg.receive_count),
            "ApproximateFirstReceiveTimestamp": str(msg.first_receive_timestamp),
        }
        if msg.group_id is not None:
            facts["MessageGroupId"] = msg.group_id
        if msg.dedup_id is not None:
            facts["MessageDeduplicationId"] = msg.dedup_id
        if msg.sequence_number is not None and fifo:
            facts["SequenceNumber"] = str(msg.sequence_number)
        if TRACE_META in meta:
            facts["AWSTraceHeader"] = meta[TRACE_META].decode()
        source = getattr(msg, "source", None)
        if source:
            facts["DeadLetterQueueSourceArn"] = queue_arn(ctx, source)
        chosen = {k: v for k, v in facts.items() if every or k in sys_names}
        if chosen:
            out["Attributes"] = chosen
    if attr_names and msg.attributes:
        attrs = {n: _wire_attribute(a) for n, a in msg.attributes.items() if _wants(attr_names, n)}
        if attrs:
            out["MessageAttributes"] = attrs
            out["MD5OfMessageAttributes"] = md5_of_attributes(attrs)
    return out


class MessageActions:
    """Handlers of the single-message family."""

    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    def queue(self, url: str) -> Queue:
        return self.core.get_queue(name_from_url(url))

    async def send_message(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """SendMessage."""
        queue = self.queue(p["QueueUrl"])
        prep = prepare_send(ctx, queue, p)
        return send_reply(prep, await send_prepared(queue, prep))

    async def receive_message(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ReceiveMessage."""
        queue = self.queue(p["QueueUrl"])
        max_n = p.get("MaxNumberOfMessages")
        if max_n is None:
            max_n = 1
        _param_range("MaxNumberOfMessages", max_n, 1, 10)
        wait = p.get("WaitTimeSeconds")
        if wait is None:
            wait = queue.config.receive_wait
        else:
            _param_range("WaitTimeSeconds", wait, 0, 20)
        vis = p.get("VisibilityTimeout")
        if vis is not None:
            _param_range("VisibilityTimeout", vis, 0, 43200)
        attempt = p.get("ReceiveRequestAttemptId")
        kwargs: dict[str, Any] = {}
        if attempt is not None and queue.config.fifo:
            kwargs["attempt_id"] = attempt
        sys_names = set(p.get("AttributeNames") or ()) | set(p.get("MessageSystemAttributeNames") or ())
        for n in sys_names:
            if n != "All" and n not in SYSTEM_ATTRIBUTES:
                raise AwsError("InvalidAttributeName", f"Unknown Attribute {n}.", 400)
        msgs = await queue.receive(max_n, float(wait), vis, **kwargs)
        if not msgs:
            return {}
        if wait and ctx.disconnected():
            # The long-polling client left: hand the messages back rather than hide them
            # for a visibility timeout nobody will use.
            for m in msgs:
                queue.release(m.receipt)
            return {}
        attr_names = list(p.get("MessageAttributeNames") or ())
        fifo = bool(queue.config.fifo)
        return {"Messages": [render_message(ctx, m, sys_names, attr_names, fifo) for m in msgs]}

    async def delete_message(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeleteMessage."""
        queue = self.queue(p["QueueUrl"])
        await _maybe(queue.delete(_receipt(p["ReceiptHandle"])))

    async def change_message_visibility(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """ChangeMessageVisibility."""
        queue = self.queue(p["QueueUrl"])
        _param_range("VisibilityTimeout", p["VisibilityTimeout"], 0, 43200)
        queue.change_visibility(_receipt(p["ReceiptHandle"]), p["VisibilityTimeout"])


def _receipt(handle: str) -> str:
    if not handle:
        raise AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.", 404)
    return handle


async def _maybe(result: Any) -> Any:
    if hasattr(result, "__await__"):
        return await result
    return result
