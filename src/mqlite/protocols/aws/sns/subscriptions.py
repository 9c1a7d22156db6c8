"""Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic),
Get/SetSubscriptionAttributes.

A subscription is a binding of its topic's router (id = the uuid at the end of its
ARN; see common.py). `sqs` subscriptions bind the core queue named by the queue ARN
(RedrivePolicy becomes the binding's dead-letter target); other protocols bind a
descriptive destination and are delivered by the `sns` transform (envelope.py).
Matcher: `sns` with the FilterPolicy (args['scope'] = FilterPolicyScope) or `fanout`
without one; a change of FilterPolicy re-binds under the same id.
Confirmation: `sqs`, `lambda`, `sms`, `application` and `firehose` are confirmed at
once; `http`/`https` get a SubscriptionConfirmation POST and `email`/`email-json` a
confirmation message (relay or outbox), and stay "PendingConfirmation" until
ConfirmSubscription with their token (or a GET of the SubscribeURL).
Rules checked (AWS's errors): protocol and endpoint shape, FIFO topics only to FIFO
queues and FIFO queues only from FIFO topics, RawMessageDelivery only where AWS has it,
valid filter/redrive/delivery policies; a repeated Subscribe with the same protocol and
endpoint returns the existing subscription (different attributes: InvalidParameter).
Nothing is half-created: every check runs before the binding is made.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

from mqlite.core.api import BrokerCore
from mqlite.core.errors import InvalidPattern, QueueNotFound
from mqlite.core.router import Destination, Router
from mqlite.protocols.aws import access, namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import (
    PROTOCOLS,
    TRANSFORM,
    SnsState,
    new_id,
    parse_subscription_arn,
    queue_name_from_arn,
)
from mqlite.protocols.aws.sns.errors import invalid_parameter, not_found
from mqlite.protocols.aws.sns.http_subscriptions import (
    send_confirmation,
    validate_delivery_policy,
)
from mqlite.protocols.aws.wire import AwsError

PAGE = 100
SUB_ATTRIBUTES = frozenset({
    "DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
    "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy",
})
RAW_PROTOCOLS = ("sqs", "http", "https", "firehose")
PHONE = re.compile(r"^\+?[1-9][0-9]{1,14}$")  # E.164
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _check_endpoint(protocol: str, endpoint: str, fifo_topic: bool, core: BrokerCore) -> None:
    if protocol not in PROTOCOLS:
        raise invalid_parameter(
            f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}")
    if fifo_topic and protocol not in ("sqs", "firehose"):
        raise invalid_parameter(f"Invalid parameter: Invalid protocol type: {protocol}")
    if protocol == "sqs":
        name = queue_name_from_arn(endpoint)
        if name is None:
            raise invalid_parameter("Invalid parameter: SQS endpoint ARN")
        try:
            queue = core.get_queue(name)
        except QueueNotFound:
            queue = None
        fifo_queue = bool(queue.config.fifo) if queue is not None else name.endswith(".fifo")
        if fifo_queue and not fifo_topic:
            raise invalid_parameter(
                "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be"
                " subscribed to standard SNS topics")
        # A FIFO topic may fan out to standard queues (AWS allows it; order is not kept there).
    elif protocol in ("http", "https"):
        if not endpoint.lower().startswith(protocol + "://") or len(endpoint) <= len(protocol) + 3:
            raise invalid_parameter("Invalid parameter: Endpoint must match the specified protocol")
        refusal = core.routers.http.policy.refusal(endpoint)
        if refusal is not None:  # the operator's --http-destination policy
            raise invalid_parameter(f"Invalid parameter: Endpoint Reason: {refusal}")
    elif protocol in ("email", "email-json"):
        if not EMAIL.match(endpoint):
            raise invalid_parameter("Invalid parameter: Email address")
    elif protocol == "sms":
        # Separators (. / - space) are allowed singly between digits; the rest is E.164.
        if (re.search(r"[./ -]{2,}|^[./ -]|[./ -]$", endpoint)
                or not PHONE.match(re.sub(r"[./ -]", "", endpoint))):
            raise invalid_parameter(f"Invalid SMS endpoint: {endpoint}")
    elif protocol == "lambda":
        if not endpoint.startswith("arn:aws:lambda:"):
            raise invalid_parameter("Invalid parameter: Lambda endpoint ARN")
    elif protocol == "application":
        from mqlite.protocols.aws.sns.platform import ENDPOINTS_NS

        if (not endpoint.startswith("arn:aws:sns:") or ":endpoint/" not in endpoint
                or core.catalog.kv_get(ENDPOINTS_NS, endpoint) is None):
            raise invalid_parameter(
                f"Invalid parameter: Endpoint Reason: Endpoint does not exist for endpoint arn{endpoint}")
    elif protocol == "firehose" and not endpoint.startswith("arn:aws:firehose:"):
        raise invalid_parameter("Invalid parameter: Firehose endpoint ARN")


def _check_queue_write(state: SnsState, ctx: AwsContext, endpoint: str) -> None:
    """Subscribing a queue sends to it: the caller needs write on the queue (AWS needs
    the queue's policy to let SNS send; mqlite's rules are that policy), and another
    account's queue needs a rule naming it (`access.permits`)."""
    from mqlite.security.authz import authorizer_for

    name = queue_name_from_arn(endpoint)
    authz = authorizer_for(state.core, state.settings)
    auth_on = authz.users.enabled
    if name is None or (not authz.enabled and not auth_on):
        return
    ns = namespace.of(ctx)
    if not access.permits(authz, auth_on, ctx.principal, "write", "queue", name, ns):
        raise AwsError("AuthorizationError",
                       f"User: arn:aws:iam::{ctx.account}:user/{ctx.principal or 'anonymous'} is not authorized "
                       f"to perform: sqs:SendMessage on resource: {ns.arn('sqs', name)}", 403)


def _check_attribute(protocol: str, name: str, value: str, prefix: str) -> str:
    if name not in SUB_ATTRIBUTES:
        raise invalid_parameter(f"{prefix}AttributeName" if prefix == "Invalid parameter: "
                                else f"{prefix}Unknown attribute {name}")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise invalid_parameter(f"{prefix}RawMessageDelivery: Invalid value [{value}]."
                                    " Must be true or false.")
        if protocol not in RAW_PROTOCOLS and value.lower() == "true":
            raise invalid_parameter(
                f"{prefix}Delivery protocol [{protocol}] does not support raw message delivery.")
        return value.lower()
    if name == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
        raise invalid_parameter(f"{prefix}FilterPolicyScope: Invalid value [{value}]. Please use"
                                " either MessageBody or MessageAttributes")
    if name == "RedrivePolicy" and value:
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid_parameter(f"{prefix}RedrivePolicy: failed to parse JSON") from None
        target = doc.get("deadLetterTargetArn") if isinstance(doc, dict) else None
        if not isinstance(target, str) or queue_name_from_arn(target) is None:
            raise invalid_parameter(f"{prefix}RedrivePolicy: deadLetterTargetArn is an invalid arn")
    if name == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise invalid_parameter(f"{prefix}DeliveryPolicy: only HTTP/S subscriptions have a delivery policy")
        reason = validate_delivery_policy(value)
        if reason:
            raise invalid_parameter(prefix + reason)
    if name == "FilterPolicy" and value:
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise invalid_parameter(f"{prefix}FilterPolicy: failed to parse JSON. {exc}") from None
    return value


def bind(router: Router, info: dict[str, Any], *, subscribing: bool) -> None:
    """Make (or remake under the same id) the binding of a subscription."""
    attrs = info.get("attrs", {})
    protocol = info["protocol"]
    if protocol == "sqs":
        dest = Destination.queue(queue_name_from_arn(info["endpoint"]) or "")
    elif protocol in ("http", "https"):
        dest = Destination.http(info["endpoint"])
    else:
        dest = Destination.channel(f"sns.{protocol}.{info['id']}")
    args: dict[str, Any] = {"transform": TRANSFORM, "sns": info}
    redrive = attrs.get("RedrivePolicy")
    if protocol == "sqs" and redrive:
        dlq = queue_name_from_arn(orjson.loads(redrive)["deadLetterTargetArn"])
        args["dead_letter"] = Destination.queue(dlq or "").to_json()
    policy = attrs.get("FilterPolicy")
    try:
        if policy:
            args["scope"] = attrs.get("FilterPolicyScope", "MessageAttributes")
            router.bind(dest, "sns", policy, args, binding_id=info["id"])
        else:
            router.bind(dest, "fanout", None, args, binding_id=info["id"])
    except InvalidPattern as exc:
        message = str(exc.message if hasattr(exc, "message") else exc)
        # AWS names the Attributes at Subscribe, except for the complexity limit.
        if (subscribing and message.startswith("Invalid parameter: FilterPolicy: ")
                and not message.endswith("Filter policy is too complex")):
            message = "Invalid parameter: Attributes Reason: FilterPolicy: " + message[33:]
        raise invalid_parameter(message) from None


class SubscriptionActions:
    """Subscription lifecycle and attributes (see module docstring)."""

    def __init__(self, state: SnsState) -> None:
        self.state = state

    async def subscribe(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """Subscribe: validate everything, then bind; pending protocols get a confirmation."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        topic = SnsState.topic_info(router)
        topic_arn = topic.get("arn") or params["TopicArn"]
        fifo = topic.get("attributes", {}).get("FifoTopic") == "true"
        protocol = (params.get("Protocol") or "").lower()
        endpoint = params.get("Endpoint") or ""
        _check_endpoint(protocol, endpoint, fifo, self.state.core)
        if protocol == "sqs":
            _check_queue_write(self.state, ctx, endpoint)
        given = dict(params.get("Attributes") or {})
        prefix = "Invalid parameter: Attributes Reason: "
        attrs = {k: _check_attribute(protocol, k, v, prefix) for k, v in given.items()}
        if protocol == "firehose" and not attrs.get("SubscriptionRoleArn"):
            raise invalid_parameter(
                "Invalid parameter: Attributes Reason: SubscriptionRoleArn is required for firehose subscriptions")
        for b, info in SnsState.subscriptions(router):
            if info["protocol"] == protocol and info["endpoint"] == endpoint:
                have = info.get("attrs", {})
                if any(have.get(k, _default(k)) != v for k, v in attrs.items()):
                    raise invalid_parameter(
                        "Invalid parameter: Attributes Reason: Subscription already exists with"
                        " different attributes")
                if not info.get("confirmed") and protocol in ("http", "https"):
                    send_confirmation(self.state, info, router.name, ctx.base_url)
                return {"SubscriptionArn": self._shown_arn(info, params)}
        sub_id = new_id()
        pending = protocol in ("http", "https", "email", "email-json")
        info = {
            "id": sub_id, "arn": f"{topic_arn}:{sub_id}", "topic_arn": topic_arn,
            "protocol": protocol, "endpoint": endpoint, "owner": ctx.account, "attrs": attrs,
            "confirmed": not pending, "token": secrets.token_hex(64) if pending else None,
        }
        bind(router, info, subscribing=True)
        if pending:
            self._request_confirmation(ctx, router, info)
        return {"SubscriptionArn": self._shown_arn(info, params)}

    def _request_confirmation(self, ctx: AwsContext, router: Router, info: dict[str, Any]) -> None:
        if info["protocol"] in ("http", "https"):
            send_confirmation(self.state, info, router.name, ctx.base_url)
            return
        from mqlite.protocols.aws.sns.outbox import send_or_keep

        url = self.state.subscribe_url(ctx.base_url, info["topic_arn"], info["token"])
        send_or_keep(self.state, {
            "Type": "SubscriptionConfirmation", "Protocol": info["protocol"],
            "Endpoint": info["endpoint"], "SubscriptionArn": info["arn"],
            "TopicArn": info["topic_arn"], "MessageId": new_id(), "Token": info["token"],
            "SubscribeURL": url, "Subject": "AWS Notification - Subscription Confirmation",
            "Message": (f"You have chosen to subscribe to the topic:\n{info['topic_arn']}\n\n"
                        f"To confirm this subscription, click or visit the link below:\n{url}\n"),
        })

    @staticmethod
    def _shown_arn(info: dict[str, Any], params: dict[str, Any]) -> str:
        if info.get("confirmed") or params.get("ReturnSubscriptionArn"):
            return str(info["arn"])
        return "pending confirmation"

    async def confirm_subscription(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ConfirmSubscription: the token of a pending subscription confirms it."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        token = params.get("Token") or ""
        for _b, info in SnsState.subscriptions(router):
            if info.get("token") and secrets.compare_digest(str(info["token"]), token):
                if not info.get("confirmed"):
                    info = dict(info)
                    info["confirmed"] = True
                    info["authenticated"] = str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true"
                    bind(router, info, subscribing=False)
                return {"SubscriptionArn": info["arn"]}
        raise invalid_parameter("Invalid token")

    async def unsubscribe(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """Unsubscribe: remove the binding (an unknown subscription is not an error); a
        confirmed HTTP/S endpoint gets an UnsubscribeConfirmation."""
        topic, sub_id = parse_subscription_arn(params.get("SubscriptionArn"))
        router = self.state.registry.find(topic)
        if router is None or router.kind != "sns":
            return
        b = router.get_binding(sub_id)
        info = b.args.get("sns") if b is not None else None
        if (router.unbind(sub_id) and isinstance(info, dict) and info.get("confirmed")
                and info["protocol"] in ("http", "https")):
            send_confirmation(self.state, info, router.name, ctx.base_url, "UnsubscribeConfirmation")

    def _entries(self, routers: list[Router]) -> list[dict[str, str]]:
        out = []
        for router in routers:
            for _b, info in SnsState.subscriptions(router):
                out.append({
                    "SubscriptionArn": info["arn"] if info.get("confirmed") else "PendingConfirmation",
                    "Owner": info.get("owner", ""), "Protocol": info["protocol"],
                    "Endpoint": info["endpoint"], "TopicArn": info["topic_arn"],
                })
        return out

    @staticmethod
    def _page(entries: list[dict[str, str]], token: str | None) -> dict[str, Any]:
        start = 0
        if token:
            if not token.isdigit():
                raise invalid_parameter("Invalid parameter: NextToken")
            start = int(token)
        out: dict[str, Any] = {"Subscriptions": entries[start:start + PAGE]}
        if start + PAGE < len(entries):
            out["NextToken"] = str(start + PAGE)
        return out

    async def list_subscriptions(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListSubscriptions: every topic's, 100 per page."""
        return self._page(self._entries(self.state.topics()), params.get("NextToken"))

    async def list_subscriptions_by_topic(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListSubscriptionsByTopic: one topic's, 100 per page."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        return self._page(self._entries([router]), params.get("NextToken"))

    async def get_subscription_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetSubscriptionAttributes: the set attributes plus the computed ones."""
        router, _b, info = self.state.find_subscription(params.get("SubscriptionArn"))
        attrs = dict(info.get("attrs", {}))
        out = {
            "SubscriptionArn": info["arn"], "TopicArn": info["topic_arn"],
            "Owner": info.get("owner", ""), "Protocol": info["protocol"],
            "Endpoint": info["endpoint"],
            "PendingConfirmation": "false" if info.get("confirmed") else "true",
            "ConfirmationWasAuthenticated": "true" if info.get("authenticated") or
            info["protocol"] not in ("http", "https", "email", "email-json") else "false",
            "RawMessageDelivery": attrs.pop("RawMessageDelivery", "false"),
            "SubscriptionPrincipal": f"arn:aws:iam::{info.get('owner', ctx.account)}:user/mqlite",
        }
        if info["protocol"] in ("http", "https"):
            from mqlite.protocols.aws.sns.http_subscriptions import _policy

            pol = _policy(self.state, info, router.name)
            retry = {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3,
                     "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0,
                     "backoffFunction": "linear", **pol["retry"]}
            out["EffectiveDeliveryPolicy"] = orjson.dumps({
                "healthyRetryPolicy": retry, "throttlePolicy": pol["throttle"] or None,
                "requestPolicy": pol["request"] or {"headerContentType": "text/plain; charset=UTF-8"},
                "guaranteed": False,
            }).decode()
        if attrs.get("FilterPolicy"):
            attrs.setdefault("FilterPolicyScope", "MessageAttributes")
        out.update({k: v for k, v in attrs.items() if v != ""})
        return {"Attributes": out}

    async def set_subscription_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """SetSubscriptionAttributes: one attribute; the binding is remade when it matters."""
        router, _b, info = self.state.find_subscription(params.get("SubscriptionArn"))
        name = params.get("AttributeName", "")
        value = params.get("AttributeValue") or ""
        value = _check_attribute(info["protocol"], name, value, "Invalid parameter: ")
        attrs = dict(info.get("attrs", {}))
        if value == "" and name in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
            attrs.pop(name, None)
        else:
            attrs[name] = value
        new = dict(info)
        new["attrs"] = attrs
        bind(router, new, subscribing=False)


def _default(name: str) -> str:
    return {"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}.get(name, "")


__all__ = ["SubscriptionActions", "bind", "not_found"]
