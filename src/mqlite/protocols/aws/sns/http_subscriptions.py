"""HTTP/S subscriptions: the SubscriptionConfirmation POST and Notification POSTs.

- `send_confirmation(state, info, router, base_url)`: POSTs the signed SubscriptionConfirmation
  JSON (Type, MessageId, Token, TopicArn, Message, SubscribeURL, Timestamp,
  SignatureVersion, Signature, SigningCertURL) to the endpoint. The SubscribeURL is the
  query API's `?Action=ConfirmSubscription&TopicArn=...&Token=...` on the URL the
  subscriber's client dialled, so a GET of it confirms (as with AWS); with `aws_keys`
  set it is `/_mqlite/sns/confirm?...` instead (routes.py), which needs no signature. Unsubscribing a
  confirmed HTTP/S subscription POSTs an UnsubscribeConfirmation the same way.
- `deliver_notification(...)`: POSTs the notification JSON (or, with RawMessageDelivery,
  the message with `x-amz-sns-rawdelivery: true`) with AWS's headers
  `x-amz-sns-message-type`, `x-amz-sns-message-id`, `x-amz-sns-topic-arn`,
  `x-amz-sns-subscription-arn`, Content-Type `text/plain; charset=UTF-8` and SNS's
  User-Agent.
Retries follow the subscription's DeliveryPolicy (else the topic's `http` default,
else AWS's default: 3 retries, 20 s apart) in AWS's four phases (`retry_schedule`):
`numNoDelayRetries` immediate retries, then `numMinDelayRetries` retries `minDelayTarget`
apart, then the backoff phase (the retries left of `numRetries`) whose delays rise from
`minDelayTarget` to `maxDelayTarget` by `backoffFunction` (linear: evenly; arithmetic:
quadratically; geometric: by a constant ratio; exponential: 2^k - 1 steps, slowest at
first - AWS documents only the shapes, these are our curves), then `numMaxDelayRetries`
retries `maxDelayTarget` apart; the phases take the `numRetries` in that order (the
post-backoff phase is kept before the backoff phase when they do not all fit), and the
whole schedule is capped at AWS's 3,600 s total. No jitter (tests are deterministic).
`throttlePolicy.maxReceivesPerSecond` rate-limits the endpoint.
2xx is delivered; 429/5xx/timeouts/refused connections are retried; other statuses fail
at once. A final failure goes to the subscription's RedrivePolicy dead-letter queue.
The POSTs go through the core's shared `HttpDelivery` (bounded concurrency and backlog).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState, iso_timestamp, new_id, now_ms
from mqlite.protocols.aws.sns.envelope import M_ID, M_TOPIC, message_for, notification

log = logging.getLogger("mqlite.aws.sns")
USER_AGENT = "Amazon Simple Notification Service Agent"
CONTENT_TYPE = "text/plain; charset=UTF-8"


def _policy(state: SnsState, info: Mapping[str, Any], router_name: str) -> dict[str, Any]:
    """The effective (retry, throttle, request) policy of a subscription."""
    retry: dict[str, Any] = {}
    throttle: dict[str, Any] = {}
    request: dict[str, Any] = {}
    router = state.registry.find(router_name)
    topic_policy = (SnsState.topic_info(router).get("attributes", {}).get("DeliveryPolicy")
                    if router is not None else None)
    if topic_policy:
        http = (orjson.loads(topic_policy) or {}).get("http") or {}
        retry.update(http.get("defaultHealthyRetryPolicy") or {})
        throttle.update(http.get("defaultThrottlePolicy") or {})
        request.update(http.get("defaultRequestPolicy") or {})
    own = info.get("attrs", {}).get("DeliveryPolicy")
    if own:
        doc = orjson.loads(own) or {}
        retry.update(doc.get("healthyRetryPolicy") or {})
        throttle.update(doc.get("throttlePolicy") or {})
        request.update(doc.get("requestPolicy") or {})
    return {"retry": retry, "throttle": throttle, "request": request}


MAX_TOTAL_RETRY_SECONDS = 3600.0


def _backoff(fn: str, lo: float, hi: float, n: int) -> list[float]:
    """n delays rising from lo (first) to hi (last) by the named backoff function."""
    if n <= 0:
        return []
    if n == 1 or hi <= lo:
        return [lo] * n
    out: list[float] = []
    for k in range(n):
        p = k / (n - 1)
        if fn == "arithmetic":
            v = lo + (hi - lo) * p * p
        elif fn == "geometric":
            v = lo * (hi / lo) ** p if lo > 0 else hi * p
        elif fn == "exponential":
            v = lo + (hi - lo) * (2 ** k - 1) / (2 ** (n - 1) - 1)
        else:  # linear
            v = lo + (hi - lo) * p
        out.append(round(v, 6))
    return out


def retry_schedule(retry: Mapping[str, Any]) -> list[float]:
    """The delay before each retry of a healthyRetryPolicy (see module docstring)."""
    total = max(0, int(retry.get("numRetries", 3)))
    lo = float(retry.get("minDelayTarget", 20))
    hi = max(lo, float(retry.get("maxDelayTarget", 20)))
    left = total
    no_delay = min(left, max(0, int(retry.get("numNoDelayRetries", 0))))
    left -= no_delay
    pre = min(left, max(0, int(retry.get("numMinDelayRetries", 0))))
    left -= pre
    post = min(left, max(0, int(retry.get("numMaxDelayRetries", 0))))
    left -= post
    fn = str(retry.get("backoffFunction", "linear")).lower()
    delays = [0.0] * no_delay + [lo] * pre + _backoff(fn, lo, hi, left) + [hi] * post
    capped: list[float] = []
    spent = 0.0
    for d in delays:
        if spent + d > MAX_TOTAL_RETRY_SECONDS:
            break
        spent += d
        capped.append(d)
    return capped


def delivery_options(state: SnsState, info: Mapping[str, Any], router_name: str,
                     headers: dict[str, str]) -> dict[str, Any]:
    """HttpDelivery options for one POST (see module docstring for the mapping)."""
    policy = _policy(state, info, router_name)
    opts: dict[str, Any] = {
        "delays": retry_schedule(policy["retry"]),
        "timeout": 15.0,
        "content_type": policy["request"].get("headerContentType", CONTENT_TYPE),
        "headers": headers,
    }
    rate = policy["throttle"].get("maxReceivesPerSecond")
    if rate:
        opts["rate_per_second"] = float(rate)
    return opts


def validate_delivery_policy(text: str) -> str | None:
    """AWS's reason text for an invalid subscription DeliveryPolicy, else None."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "DeliveryPolicy: failed to parse JSON"
    if not isinstance(doc, dict):
        return "DeliveryPolicy: must be a JSON object"
    retry = doc.get("healthyRetryPolicy") or {}
    if not isinstance(retry, dict):
        return "DeliveryPolicy: healthyRetryPolicy must be an object"
    limits = {"numRetries": (0, 100), "minDelayTarget": (1, 3600), "maxDelayTarget": (1, 3600),
              "numNoDelayRetries": (0, 100), "numMinDelayRetries": (0, 100),
              "numMaxDelayRetries": (0, 100)}
    for key, (lo, hi) in limits.items():
        if key in retry:
            v = retry[key]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                return f"DeliveryPolicy: {key} must be an integer in [{lo}, {hi}]"
    if retry.get("minDelayTarget", 1) > retry.get("maxDelayTarget", 3600):
        return "DeliveryPolicy: minDelayTarget must be <= maxDelayTarget"
    fn = retry.get("backoffFunction", "linear")
    if fn not in ("linear", "arithmetic", "geometric", "exponential"):
        return f"DeliveryPolicy: Invalid backoffFunction [{fn}]"
    return None


def _signature_version(state: SnsState, router_name: str) -> str:
    router = state.registry.find(router_name)
    attrs = SnsState.topic_info(router).get("attributes", {}) if router is not None else {}
    return str(attrs.get("SignatureVersion", "1"))


def send_confirmation(state: SnsState, info: Mapping[str, Any], router_name: str, base_url: str,
                      kind: str = "SubscriptionConfirmation") -> None:
    """POST a SubscriptionConfirmation (a pending HTTP/S subscription) or an
    UnsubscribeConfirmation (an unsubscribed one; its SubscribeURL re-subscribes)."""
    topic_arn = info["topic_arn"]
    if kind == "SubscriptionConfirmation":
        message = (f"You have chosen to subscribe to the topic {topic_arn}.\n"
                   "To confirm the subscription, visit the SubscribeURL included in this message.")
    else:
        message = (f"You have chosen to deactivate subscription {info['arn']}.\n"
                   "To cancel this operation and restore the subscription, visit the SubscribeURL"
                   " included in this message.")
    version = _signature_version(state, router_name)
    doc: dict[str, Any] = {
        "Type": kind,
        "MessageId": new_id(),
        "Token": info["token"],
        "TopicArn": topic_arn,
        "Message": message,
        "SubscribeURL": state.subscribe_url(base_url, topic_arn, info["token"]),
        "Timestamp": iso_timestamp(now_ms()),
        "SignatureVersion": version,
    }
    doc["Signature"] = state.signer.sign(doc, version)
    doc["SigningCertURL"] = state.cert_url(base_url)
    headers = {
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": doc["MessageId"],
        "x-amz-sns-topic-arn": topic_arn,
        "User-Agent": USER_AGENT,
    }
    if kind != "SubscriptionConfirmation":
        headers["x-amz-sns-subscription-arn"] = info["arn"]
    opts = delivery_options(state, info, router_name, headers)
    state.core.routers.http.submit(info["endpoint"], Envelope(body=orjson.dumps(doc)), opts)


def deliver_notification(state: SnsState, env: Envelope, binding: Binding, info: Mapping[str, Any]) -> None:
    """POST one notification (see module docstring); failures go to the DLQ."""
    raw = info.get("attrs", {}).get("RawMessageDelivery") == "true"
    headers = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": env.meta[M_ID].decode(),
        "x-amz-sns-topic-arn": env.meta[M_TOPIC].decode(),
        "x-amz-sns-subscription-arn": info["arn"],
        "User-Agent": USER_AGENT,
    }
    if raw:
        headers["x-amz-sns-rawdelivery"] = "true"
        body = message_for(env, info["protocol"]).encode()
    else:
        body = orjson.dumps(notification(state, env, info, info["protocol"]))
    opts = delivery_options(state, info, binding.router, headers)

    async def failed(out: Envelope, reason: str) -> None:
        await dead_letter(state, info, out, reason)

    state.core.routers.http.submit(info["endpoint"], Envelope(body=body), opts, on_failure=failed)


async def dead_letter(state: SnsState, info: Mapping[str, Any], env: Envelope, reason: str) -> None:
    """Send a message that could not be delivered to the subscription's DLQ, if any."""
    from mqlite.protocols.aws.sns.common import queue_name_from_arn

    policy = info.get("attrs", {}).get("RedrivePolicy")
    target = orjson.loads(policy).get("deadLetterTargetArn") if policy else None
    name = queue_name_from_arn(target) if isinstance(target, str) else None
    if name is None:
        log.info("sns: delivery to %s failed (%s); no dead-letter queue", info.get("endpoint"), reason)
        return
    try:
        await state.core.get_queue(name).send(env.body, meta={"mqlite.dlq.reason": reason.encode()})
    except Exception as exc:  # noqa: BLE001 - a missing DLQ loses the message, as on AWS
        log.warning("sns: dead-letter queue %s refused a message: %s", name, exc)
