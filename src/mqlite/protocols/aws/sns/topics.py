"""CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes, tags and permissions.

CreateTopic is idempotent: the same name with the same attributes (and tags) returns
the same ARN; different attributes are AWS's `InvalidParameter` ("Topic already exists
with different attributes"). `.fifo` names need `FifoTopic=true` and vice versa. A topic
is a core router of kind `sns` (see common.py); its attributes and tags live in the
router's config. Tags: at most 50 per resource, keys 1-128, values 0-256 characters.
Add/RemovePermission edit the topic's Policy document as AWS does (statement per label).
"""

from __future__ import annotations

from typing import Any

import orjson

from mqlite.core.errors import RouterExists
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import (
    FIFO_TOPIC_NAME,
    KIND,
    TOPIC_NAME,
    SnsState,
    core_topic_name,
    parse_topic_arn,
    topic_arn,
)
from mqlite.protocols.aws.sns.errors import (
    authorization_error,
    invalid_parameter,
    resource_not_found,
)
from mqlite.protocols.aws.wire import AwsError

PAGE = 100
MAX_TAGS = 50
SETTABLE = frozenset({
    "DeliveryPolicy", "DisplayName", "Policy", "TracingConfig", "KmsMasterKeyId",
    "SignatureVersion", "ContentBasedDeduplication", "ArchivePolicy", "FifoThroughputScope",
    "DataProtectionPolicy",
    *(f"{p}{k}" for p in ("HTTP", "Firehose", "Lambda", "Application", "SQS")
      for k in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")),
})
CREATE_ONLY = frozenset({"FifoTopic"})
DEFAULT_EFFECTIVE_DELIVERY = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3,
            "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def default_policy(arn: str, account: str) -> str:
    """AWS's default topic access policy document."""
    return orjson.dumps({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish",
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
        }],
    }).decode()


def _bool_attr(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise invalid_parameter(f"Invalid parameter: Attributes Reason: {name}: Invalid value [{value}]")
    return value.lower()


def _check_attribute(name: str, value: str, fifo: bool, *, creating: bool) -> str:
    """Validate one topic attribute; returns its stored form."""
    if name == "FifoTopic":
        if not creating:
            raise invalid_parameter("Invalid parameter: AttributeName")
        return _bool_attr(name, value)
    if name not in SETTABLE:
        raise invalid_parameter("Invalid parameter: AttributeName" if not creating
                                else f"Invalid parameter: Attributes Reason: Unknown attribute {name}")
    if name == "ContentBasedDeduplication":
        value = _bool_attr(name, value)
        if not fifo and value == "true":
            raise invalid_parameter(
                "Invalid parameter: ContentBasedDeduplication Reason: Content based deduplication"
                " can only be set for FIFO topics")
    elif name == "SignatureVersion":
        if value not in ("1", "2"):
            raise invalid_parameter(
                "Invalid parameter: SignatureVersion Reason: Invalid value [" + value + "]")
    elif name == "FifoThroughputScope":
        if not fifo or value not in ("Topic", "MessageGroup"):
            raise invalid_parameter(f"Invalid parameter: FifoThroughputScope Reason: Invalid value [{value}]")
    elif name == "DisplayName":
        if len(value) > 100:
            raise invalid_parameter("Invalid parameter: DisplayName Reason: DisplayName must be at most 100 characters")
    elif name in ("Policy", "DeliveryPolicy", "DataProtectionPolicy", "ArchivePolicy") and value:
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid_parameter(f"Invalid parameter: {name} Reason: failed to parse JSON") from None
        if not isinstance(doc, dict):
            raise invalid_parameter(f"Invalid parameter: {name} Reason: must be a JSON object")
        if name == "ArchivePolicy" and not fifo:
            raise invalid_parameter("Invalid parameter: ArchivePolicy Reason: only FIFO topics can have an ArchivePolicy")
    return value


def check_tags(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise invalid_parameter("Invalid parameter: Tags Reason: Tag keys must be 1-128 characters")
        if key.lower().startswith("aws:"):
            raise invalid_parameter("Invalid parameter: Tags Reason: Tag keys can not start with aws:")
        if len(value) > 256:
            raise invalid_parameter("Invalid parameter: Tags Reason: Tag values must be 0-256 characters")
        out[key] = value
    return out


def _sns_actions() -> frozenset[str]:
    """Every SNS API action name (what a topic policy's `SNS:` actions may name)."""
    from mqlite.protocols.aws.sns import service

    return frozenset(service().query_model.operation_names)


class TopicActions:
    """Topic lifecycle, attributes, tags and permissions (see module docstring)."""

    def __init__(self, state: SnsState) -> None:
        self.state = state

    async def create_topic(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CreateTopic: make a topic (router of kind sns) or return the existing one."""
        name = params.get("Name", "")
        attrs: dict[str, str] = dict(params.get("Attributes") or {})
        fifo = attrs.get("FifoTopic", "false").lower() == "true"
        pattern = FIFO_TOPIC_NAME if fifo else TOPIC_NAME
        if not pattern.match(name):
            if fifo:
                raise invalid_parameter(
                    "Fifo Topic names must end with .fifo and must be made up of only uppercase and"
                    " lowercase ASCII letters, numbers, underscores, and hyphens, and must be"
                    " between 1 and 256 characters long.")
            raise invalid_parameter("Invalid parameter: Topic Name")
        stored = {k: _check_attribute(k, v, fifo, creating=True) for k, v in attrs.items()}
        if params.get("DataProtectionPolicy"):
            stored["DataProtectionPolicy"] = _check_attribute(
                "DataProtectionPolicy", params["DataProtectionPolicy"], fifo, creating=True)
        tags = check_tags(params.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise AwsError("TagLimitExceededException", "Could not complete request: tag quota of per resource exceeded")
        arn = topic_arn(ctx, name)
        name = core_topic_name(name, ctx)  # accounts and regions are isolated (common.py)
        existing = self.state.registry.find(name)
        if existing is not None:
            if existing.kind != KIND:
                raise invalid_parameter(
                    "Invalid parameter: Name Reason: the name is used by another kind of router"
                    f" ({existing.kind})")
            info = SnsState.topic_info(existing)
            have = info.get("attributes", {})
            if any(have.get(k, _default(k)) != v for k, v in stored.items()):
                raise invalid_parameter(
                    "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
            if tags and any(info.get("tags", {}).get(k) != v for k, v in tags.items()):
                raise invalid_parameter(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags")
            return {"TopicArn": info.get("arn", arn)}
        stored.setdefault("FifoTopic", "true" if fifo else "false")
        info = {"arn": arn, "account": ctx.account, "attributes": stored, "tags": tags}
        try:
            self.state.registry.create(name, KIND, {"dedupe": False, "sns": info})
        except RouterExists:  # pragma: no cover - checked above
            raise invalid_parameter("Invalid parameter: Name") from None
        return {"TopicArn": arn}

    async def delete_topic(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """DeleteTopic: remove the topic and its subscriptions (deleting a missing one is fine)."""
        name = parse_topic_arn(params.get("TopicArn"))
        router = self.state.registry.find(name)
        if router is not None and router.kind == KIND:
            self.state.registry.delete(name)
            self.state.drop_dedup(name)

    async def list_topics(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListTopics: 100 per page in name order, NextToken = the position of the next page
        (as ListSubscriptions pages)."""
        token = params.get("NextToken") or "0"
        if not token.isdigit():
            raise invalid_parameter("Invalid parameter: NextToken")
        start = int(token)
        routers = sorted(self.state.topics(), key=lambda r: r.name)
        page = routers[start:start + PAGE]
        out: dict[str, Any] = {"Topics": [
            {"TopicArn": SnsState.topic_info(r).get("arn") or topic_arn(ctx, r.name)} for r in page]}
        if start + PAGE < len(routers):
            out["NextToken"] = str(start + PAGE)
        return out

    async def get_topic_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetTopicAttributes: the stored attributes plus the computed ones."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        info = SnsState.topic_info(router)
        arn = info.get("arn") or topic_arn(ctx, router.name)
        account = info.get("account", ctx.account)
        attrs = dict(info.get("attributes", {}))
        confirmed = pending = 0
        for _b, sub in SnsState.subscriptions(router):
            if sub.get("confirmed"):
                confirmed += 1
            else:
                pending += 1
        out = {
            "TopicArn": arn,
            "Owner": account,
            "Policy": attrs.pop("Policy", None) or default_policy(arn, account),
            "DisplayName": attrs.pop("DisplayName", ""),
            "SubscriptionsConfirmed": str(confirmed),
            "SubscriptionsPending": str(pending),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": orjson.dumps(
                _effective_delivery(attrs.get("DeliveryPolicy"))).decode(),
        }
        fifo = attrs.get("FifoTopic") == "true"
        if fifo:
            out["FifoTopic"] = "true"
            out["ContentBasedDeduplication"] = attrs.get("ContentBasedDeduplication", "false")
            out["FifoThroughputScope"] = attrs.get("FifoThroughputScope", "Topic")
        attrs.pop("FifoTopic", None)
        attrs.pop("DataProtectionPolicy", None)
        out.update(attrs)
        return {"Attributes": out}

    async def set_topic_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """SetTopicAttributes: one attribute; unknown names are InvalidParameter."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        info = SnsState.topic_info(router)
        attrs = dict(info.get("attributes", {}))
        name = params.get("AttributeName", "")
        value = params.get("AttributeValue") or ""
        fifo = attrs.get("FifoTopic") == "true"
        attrs[name] = _check_attribute(name, value, fifo, creating=False)
        info["attributes"] = attrs
        self.state.save_topic(router, info)

    # -- tags -------------------------------------------------------------------------------
    def _tag_target(self, arn: Any) -> Any:
        try:
            name = parse_topic_arn(arn, "ResourceArn")
        except AwsError:
            raise resource_not_found() from None
        router = self.state.registry.find(name)
        if router is None or router.kind != KIND:
            raise resource_not_found()
        return router

    async def tag_resource(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """TagResource: add or overwrite tags (at most 50 in all)."""
        router = self._tag_target(params.get("ResourceArn"))
        info = SnsState.topic_info(router)
        tags = dict(info.get("tags", {}))
        tags.update(check_tags(params.get("Tags")))
        if len(tags) > MAX_TAGS:
            raise AwsError("TagLimitExceededException", "Could not complete request: tag quota of per resource exceeded")
        info["tags"] = tags
        self.state.save_topic(router, info)
        return {}

    async def untag_resource(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """UntagResource: remove tags by key (missing keys are ignored)."""
        router = self._tag_target(params.get("ResourceArn"))
        info = SnsState.topic_info(router)
        tags = dict(info.get("tags", {}))
        for key in params.get("TagKeys") or []:
            tags.pop(key, None)
        info["tags"] = tags
        self.state.save_topic(router, info)
        return {}

    async def list_tags_for_resource(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListTagsForResource."""
        router = self._tag_target(params.get("ResourceArn"))
        tags = SnsState.topic_info(router).get("tags", {})
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    # -- permissions ------------------------------------------------------------------------
    async def add_permission(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """AddPermission: a statement labelled `Label` in the topic's Policy."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        info = SnsState.topic_info(router)
        attrs = dict(info.get("attributes", {}))
        arn = info.get("arn") or topic_arn(ctx, router.name)
        policy = orjson.loads(attrs.get("Policy") or default_policy(arn, info.get("account", ctx.account)))
        label = params.get("Label", "")
        statements = policy.setdefault("Statement", [])
        if any(s.get("Sid") == label for s in statements):
            raise invalid_parameter("Statement already exists")
        actions = params.get("ActionName") or []
        known = _sns_actions()
        for a in actions:
            bare = a[4:] if a.lower().startswith("sns:") else a
            if bare != "*" and bare not in known:
                raise invalid_parameter("Policy statement action out of service scope!")
        principals = [f"arn:aws:iam::{a}:root" for a in params.get("AWSAccountId") or []]
        sns_actions = [f"SNS:{a}" for a in actions]
        statements.append({
            "Sid": label,
            "Effect": "Allow",
            # one principal or action is written as a scalar, as AWS normalises policies
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": sns_actions[0] if len(sns_actions) == 1 else sns_actions,
            "Resource": arn,
        })
        attrs["Policy"] = orjson.dumps(policy).decode()
        info["attributes"] = attrs
        self.state.save_topic(router, info)

    async def remove_permission(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """RemovePermission: drop the statement labelled `Label` (absent is fine)."""
        router = self.state.topic_by_arn(params.get("TopicArn"))
        info = SnsState.topic_info(router)
        attrs = dict(info.get("attributes", {}))
        if not attrs.get("Policy"):
            return
        policy = orjson.loads(attrs["Policy"])
        label = params.get("Label", "")
        policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") != label]
        attrs["Policy"] = orjson.dumps(policy).decode()
        info["attributes"] = attrs
        self.state.save_topic(router, info)
        return

    # -- data protection --------------------------------------------------------------------
    async def get_data_protection_policy(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetDataProtectionPolicy: the stored policy document ('' when none)."""
        router = self._topic_or_auth(params.get("ResourceArn"))
        return {"DataProtectionPolicy": SnsState.topic_info(router).get("attributes", {}).get(
            "DataProtectionPolicy", "")}

    async def put_data_protection_policy(self, ctx: AwsContext, params: dict[str, Any]) -> None:
        """PutDataProtectionPolicy: store the document (it is not enforced)."""
        router = self._topic_or_auth(params.get("ResourceArn"))
        info = SnsState.topic_info(router)
        attrs = dict(info.get("attributes", {}))
        attrs["DataProtectionPolicy"] = _check_attribute(
            "DataProtectionPolicy", params.get("DataProtectionPolicy", ""),
            attrs.get("FifoTopic") == "true", creating=False)
        info["attributes"] = attrs
        self.state.save_topic(router, info)

    def _topic_or_auth(self, arn: Any) -> Any:
        name = parse_topic_arn(arn, "ResourceArn")
        router = self.state.registry.find(name)
        if router is None or router.kind != KIND:
            raise authorization_error("User is not authorized to access this resource")
        return router


def _default(name: str) -> str:
    return {"FifoTopic": "false", "SignatureVersion": "1", "ContentBasedDeduplication": "false",
            "DisplayName": ""}.get(name, "")


def _effective_delivery(delivery_policy: str | None) -> dict[str, Any]:
    policy = dict(DEFAULT_EFFECTIVE_DELIVERY)
    if delivery_policy:
        try:
            doc = orjson.loads(delivery_policy)
        except orjson.JSONDecodeError:
            return policy
        if isinstance(doc, dict) and isinstance(doc.get("http"), dict):
            merged = dict(policy["http"])
            merged.update(doc["http"])
            policy["http"] = merged
    return policy
