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
never for raw deliveries); presign.py fills the cache ahead of a batch's transforms on
worker threads.
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
from mqlite.core.router import Binding, register_transform
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
SIGN_CACHE = 256  # messages whose signed common part is kept
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
        return info.get("attrs", {}).get("RawMessageDelivery") != "true"
    return protocol in ("lambda", "email-json")


def cache_key(env: Envelope, protocol: str) -> str:
    """The sign-cache key of a message's notification for `protocol`."""
    variant = protocol if M_STRUCTURE in env.meta else ""
    return f"{env.meta[M_ID].decode()}\x00{variant}"


def remember(state: SnsState, key: str, common: tuple[dict[str, Any], dict[str, Any] | None]) -> None:
    cache = state.sign_cache
    if len(cache) >= SIGN_CACHE:
        del cache[next(iter(cache))]
    cache[key] = common


def notification(state: SnsState, env: Envelope, info: Mapping[str, Any], protocol: str) -> dict[str, Any]:
    """The JSON notification for one subscription (see module docstring)."""
    meta = env.meta
    key = cache_key(env, protocol)
    common = state.sign_cache.get(key)
    if common is None:
        doc, attrs = unsigned_common(env, protocol)
        common = signed_common(state, env, doc, attrs, state.signer.sign(doc, doc["SignatureVersion"]))
        remember(state, key, common)
    doc = dict(common[0])
    doc["UnsubscribeURL"] = state.unsubscribe_url(meta[M_BASE].decode(), info["arn"])
    if common[1] is not None:
        doc["MessageAttributes"] = common[1]
    return doc


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
                  signature: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Complete an `unsigned_common` part with its signature and SigningCertURL."""
    doc["Signature"] = signature
    doc["SigningCertURL"] = state.cert_url(env.meta[M_BASE].decode())
    return doc, attrs


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
    protocol = info["protocol"]
    raw = info.get("attrs", {}).get("RawMessageDelivery") == "true"
    if protocol == "sqs":
        if raw:
            attrs = raw_attributes(env.attributes) if M_STRUCTURE not in env.meta else _NO_ATTRS
            body = message_for(env, "sqs").encode() if M_STRUCTURE in env.meta else env.body
            return Envelope(body=body, attributes=attrs, group_id=env.group_id,
                            dedup_id=env.dedup_id)
        doc = notification(state, env, info, "sqs")
        return Envelope(body=orjson.dumps(doc), group_id=env.group_id, dedup_id=env.dedup_id)
    from mqlite.protocols.aws.sns.delivery import deliver_elsewhere

    deliver_elsewhere(state, env, binding, info)
    return None


def _foreign(env: Envelope, info: Mapping[str, Any]) -> Envelope | None:
    """A message published into the topic's router by another front-end (AMQP...):
    queues get it as it is (raw); other protocols need SNS facts and get nothing."""
    if info.get("protocol") != "sqs":
        return None
    return replace(env, meta={})


register_transform(TRANSFORM, sns_transform)
