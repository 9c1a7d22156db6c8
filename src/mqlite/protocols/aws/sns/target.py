"""SNS as a delivery target of the other AWS services (`aws/targets.py`): a publish to a
topic, through SNS's own Publish path (notification envelopes, FIFO rules, signatures)."""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import KIND, SnsState, state_for
from mqlite.protocols.aws.sns.publish import PublishActions
from mqlite.protocols.aws.targets import Delivery, TargetFailed
from mqlite.protocols.aws.wire import AwsError, Protocol
from mqlite.settings import Settings


class SnsTarget:
    """Publish into a topic given by its ARN."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self.actions = PublishActions(state)

    async def deliver(self, resource: str, delivery: Delivery) -> None:
        """`resource`: the topic's core name; `delivery.arn` as the sender wrote it."""
        router = self.state.core.routers.find(resource)
        if router is None or router.kind != KIND:
            raise TargetFailed("RESOURCE_NOT_FOUND", f"SNS topic {delivery.arn} does not exist.")
        params: dict[str, Any] = {"TopicArn": delivery.arn, "Message": delivery.payload.decode()}
        if delivery.group_id is not None:
            params["MessageGroupId"] = delivery.group_id
            params["MessageDeduplicationId"] = delivery.dedup_id
        ns = delivery.namespace or namespace.home(self.state.settings)
        ctx = AwsContext(region=ns.region, account=ns.account, host=delivery.host,
                         scheme="http", protocol=Protocol.JSON, request_id="events",
                         home_account=ns.home_account, home_region=ns.home_region)
        token = namespace.CURRENT.set(ns)
        try:
            await self.actions.publish(ctx, params)
        except AwsError as exc:
            raise TargetFailed("SDK_CLIENT_ERROR", f"{exc.code}: {exc.message}") from None
        finally:
            namespace.CURRENT.reset(token)


def target_for(core: BrokerCore, settings: Settings) -> SnsTarget:
    return SnsTarget(state_for(core, settings))
