"""The SNS delivery forms: the JSON notification envelope and raw delivery, as a transform.

`sns_transform(envelope, binding)` is registered with the core router as transform
`sns`; every SNS subscription binding names it. The published envelope carries the
facts in `meta` (keys below); the transform turns it, per subscription, into:
- `sqs`, RawMessageDelivery false: a body that is the notification JSON, in AWS's key
  order: Type, MessageId, [SequenceNumber], TopicArn, [Subject], Message, Timestamp,
  SignatureVersion, Signature, SigningCertURL, UnsubscribeURL, [MessageAttributes
  {name: {Type, Value}}; Binary values base64];
- `sqs`, raw: the message itself with its attributes as SQS MessageAttributes (String,
  Number, Binary, and String.Array as the custom String type "String.Array"); more than
  10 attributes cannot be delivered raw (AWS discards them as a client-side error: the
  transform fails, so the router dead-letters to the subscription's RedrivePolicy);
- other protocols: the delivery is handed to that protocol's module (HTTP POST, Lambda
  invoke, email, outbox) and the transform returns None (nothing for the router to do).
With MessageStructure=json the message is the protocol's entry, else `default`, and
attributes are not sent (AWS). Pending (unconfirmed) subscriptions get nothing.
Signatures are computed once per message (and protocol message) and cached
(`sign_cache`), only for subscriptions that get a notification (`needs_signature`:
never for raw deliveries); presign.py fills the cache ahead of a batch's transforms
(signing on worker processes, sign_pool.py).
Concurrency: called synchronously by `Router.publish` on the core loop.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from mqlite.core.message import Attribute, Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import (
    TRANSFORM,
    SnsState,
    iso_timestamp,
    state_by_token,
)

log = logging.getLogger("mqlite.aws.sns")

# meta keys set by Publish
M_ID, M_TS, M_SUBJECT, M_TOPIC, M_BASE = "sns.id", "sns.ts", "sns.subject", "sns.topic", "sns.base"
M_STATE, M_STRUCTURE, M_SIGVER, M_SEQ = "sns.state", "sns.structure", "sns.sigver", "sns.seq"
MAX_RAW_ATTRIBUTES = 10
SIGN_CACHE = 1024  # messages whose signed common part is kept
_NO_ATTRS: Mapping[str, Attribute] = {}


def message_for(env: Envelope, protocol: str) -> str:
    """The message text a subscription of `protocol` receives."""
    structure = env.meta.get(M_STRUCTURE)
    if structure:
        per = orjson.loads(structure)
        text = per.get(protocol, per.get("default", ""))
        return text if isinstance(text, str) else orjson.dumps(text).decode()
    return env.body.decode()


def wire_attributes(attributes: Mapping[str, Attribute]) -> dict[str, dict[str, str]]:
    """MessageAttributes in the notification JSON shape."""
    out = {}
    for name, attr in attributes.items():
        value = attr.value
        text = base64.b64encode(value).decode() if isinstance(value, bytes) else value
        out[name] = {"Type": attr.data_type, "Value": text}
    return out


def needs_signature(info: Mapping[str, Any]) -> bool:
    """Whether a subscription's delivery is a signed notification (never for raw ones)."""
    if not info.get("confirmed"):
        return False
    protocol = info.get("protocol")
    if protocol in ("sqs", "http", "https", "firehose"):
        return bool(info.get("attrs", {}).get("RawMessageDelivery") != "true")
    return protocol in ("lambda", "email-json")


def cache_key(env: Envelope, protocol: str) -> str:
    """The sign-cache key of a message's notification for `protocol`."""
    variant = protocol if M_STRUCTURE in env.meta else ""
    return f"{env.meta[M_ID].decode()}\x00{variant}"


class Common:
    """A message's signed, subscription-independent notification part (what the sign
    cache keeps): the document up to SigningCertURL and the wire MessageAttributes.
    `body(url)` is the SQS notification JSON for one subscription; its bytes before and
    after the UnsubscribeURL are encoded once, not once per subscription."""

    __slots__ = ("_head", "_tail", "attrs", "doc")

    def __init__(self, doc: dict[str, Any], attrs: dict[str, Any] | None) -> None:
        self.doc = doc
        self.attrs = attrs
        self._head = b""
        self._tail = b""

    def document(self, unsubscribe_url: str) -> dict[str, Any]:
        doc = dict(self.doc)
        doc["UnsubscribeURL"] = unsubscribe_url
        if self.attrs is not None:
            doc["MessageAttributes"] = self.attrs
        return doc

    def body(self, unsubscribe_url: str) -> bytes:
        if not self._head:
            self._head = orjson.dumps(self.doc)[:-1] + b',"UnsubscribeURL":'
            attrs = b',"MessageAttributes":' + orjson.dumps(self.attrs) if self.attrs is not None else b""
            self._tail = attrs + b"}"
        return self._head + orjson.dumps(unsubscribe_url) + self._tail


def remember(state: SnsState, key: str, common: Common) -> None:
    cache = state.sign_cache
    if len(cache) >= SIGN_CACHE:
        cache.popitem(last=False)  # O(1); next(iter(dict)) slows as deletions pile up
    cache[key] = common


def signed(state: SnsState, env: Envelope, protocol: str) -> Common:
    """The cached common part of a message's notification, signed now if not cached."""
    key = cache_key(env, protocol)
    common = state.sign_cache.get(key)
    if common is None:
        doc, attrs = unsigned_common(env, protocol)
        common = signed_common(state, env, doc, attrs, state.signer.sign(doc, doc["SignatureVersion"]))
        remember(state, key, common)
    return common


def notification(state: SnsState, env: Envelope, info: Mapping[str, Any], protocol: str) -> dict[str, Any]:
    """The JSON notification for one subscription (see module docstring)."""
    url = state.unsubscribe_url(env.meta[M_BASE].decode(), info["arn"])
    return signed(state, env, protocol).document(url)


def unsigned_common(env: Envelope, protocol: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The subscription-independent part of a notification, up to SignatureVersion."""
    meta = env.meta
    doc: dict[str, Any] = {"Type": "Notification", "MessageId": meta[M_ID].decode()}
    if M_SEQ in meta:
        doc["SequenceNumber"] = meta[M_SEQ].decode()
    doc["TopicArn"] = meta[M_TOPIC].decode()
    if M_SUBJECT in meta:
        doc["Subject"] = meta[M_SUBJECT].decode()
    doc["Message"] = message_for(env, protocol)
    doc["Timestamp"] = iso_timestamp(int(meta[M_TS]))
    version = meta.get(M_SIGVER, b"1").decode()
    doc["SignatureVersion"] = version
    attrs = wire_attributes(env.attributes) if env.attributes and M_STRUCTURE not in meta else None
    return doc, attrs


def signed_common(state: SnsState, env: Envelope, doc: dict[str, Any], attrs: dict[str, Any] | None,
                  signature: str) -> Common:
    """Complete an `unsigned_common` part with its signature and SigningCertURL."""
    doc["Signature"] = signature
    doc["SigningCertURL"] = state.cert_url(env.meta[M_BASE].decode())
    return Common(doc, attrs)


def raw_attributes(attributes: Mapping[str, Attribute]) -> Mapping[str, Attribute]:
    """SNS attributes as SQS MessageAttributes (raw delivery)."""
    if len(attributes) > MAX_RAW_ATTRIBUTES:
        raise ValueError(
            f"{len(attributes)} message attributes cannot be delivered raw to SQS (at most"
            f" {MAX_RAW_ATTRIBUTES})")
    return attributes


def sns_transform(env: Envelope, binding: Binding) -> Envelope | None:
    """The registered `sns` transform (see module docstring)."""
    info = binding.args.get("sns")
    if not isinstance(info, dict) or not info.get("confirmed"):
        return None
    token = env.meta.get(M_STATE)
    state = state_by_token(token.decode()) if token else None
    if state is None or M_ID not in env.meta:
        return _foreign(env, info)
    if info["protocol"] == "sqs":
        out = sqs_delivery(state, env, info)
        return Envelope(body=out) if isinstance(out, bytes) else out
    from mqlite.protocols.aws.sns.delivery import deliver_elsewhere

    deliver_elsewhere(state, env, binding, info)
    return None


def sqs_delivery(state: SnsState, env: Envelope, info: Mapping[str, Any],
                 common: Common | None = None) -> Envelope | bytes:
    """What a confirmed `sqs` subscription's queue gets for a message published here:
    the notification JSON, or the raw message; a plain body as bytes (no attributes, no
    FIFO ids), `Queue.send_batch`'s cheapest form, which fanout.py hands over as it is.
    `common`: the message's `signed(state, env, "sqs")`, when the caller has it."""
    meta = env.meta
    if info.get("attrs", {}).get("RawMessageDelivery") == "true":
        structured = M_STRUCTURE in meta
        attrs = _NO_ATTRS if structured else raw_attributes(env.attributes)
        body = message_for(env, "sqs").encode() if structured else env.body
    else:
        attrs = _NO_ATTRS
        if common is None:
            common = signed(state, env, "sqs")
        body = common.body(state.unsubscribe_url(meta[M_BASE].decode(), info["arn"]))
    if not attrs and env.group_id is None and env.dedup_id is None:
        return body
    return Envelope(body=body, attributes=attrs, group_id=env.group_id, dedup_id=env.dedup_id)


def _foreign(env: Envelope, info: Mapping[str, Any]) -> Envelope | None:
    """A message published into the topic's router by another front-end (AMQP...):
    queues get it as it is (raw); other protocols need SNS facts and get nothing."""
    if info.get("protocol") != "sqs":
        return None
    return replace(env, meta={})

