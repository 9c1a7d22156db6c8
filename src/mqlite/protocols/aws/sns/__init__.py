"""SNS front-end: topics, subscriptions, publishing and delivery on the shared AWS layer.

`build(core, settings) -> ServiceFrontend` wires every action of botocore's SNS model
(`query` protocol) from the action families: `topics` (lifecycle, attributes, tags,
permissions, data protection), `subscriptions`, `publish`, `platform` (SMS and mobile
push, answered as for an account without them). Delivery formats live in `envelope`
(the `sns` router transform), `http_subscriptions`, `lambda_invoke`, `outbox`;
signatures in `signing`; SNS error codes in `errors`. The HTTP routes that are not
query-API actions (the signing certificate, the outbox listing) are in `routes`:
`mount_routes(app, core, settings)` (= `routes.mount`) adds them to the server's app.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.frontend import ServiceFrontend
from mqlite.protocols.aws.wire import AwsService
from mqlite.settings import Settings

__all__ = ["build", "mount_routes", "service"]
_SERVICE: AwsService | None = None


# The query protocol cannot carry an empty map: `Attributes={}` arrives as no Attributes
# at all, so CreatePlatformApplication takes it as optional (an empty map).
_QUERY_OVERLAY = {"shapes": {"CreatePlatformApplicationInput": {"required": ["Name", "Platform"]}}}


def service() -> AwsService:
    """The SNS service model, loaded once per process."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = AwsService.load("sns", _QUERY_OVERLAY)
    return _SERVICE


def mount_routes(app: Any, core: BrokerCore, settings: Settings) -> None:
    """The SNS routes outside the query API (routes.py)."""
    from mqlite.protocols.aws.sns.routes import mount

    mount(app, core, settings)


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    # The action families are imported here, on the first SNS request: importing a
    # submodule (routes, envelope) imports this package first, and start-up should
    # not pay for every SNS action then.
    from mqlite.protocols.aws.sns.common import state_for
    from mqlite.protocols.aws.sns.errors import map_error
    from mqlite.protocols.aws.sns.platform import PlatformActions
    from mqlite.protocols.aws.sns.publish import PublishActions
    from mqlite.protocols.aws.sns.subscriptions import SubscriptionActions
    from mqlite.protocols.aws.sns.topics import TopicActions

    state = state_for(core, settings)
    topics = TopicActions(state)
    subs = SubscriptionActions(state)
    pub = PublishActions(state)
    plat = PlatformActions(state)
    pub.platform = plat
    handlers = {
        "CreateTopic": topics.create_topic,
        "DeleteTopic": topics.delete_topic,
        "ListTopics": topics.list_topics,
        "GetTopicAttributes": topics.get_topic_attributes,
        "SetTopicAttributes": topics.set_topic_attributes,
        "TagResource": topics.tag_resource,
        "UntagResource": topics.untag_resource,
        "ListTagsForResource": topics.list_tags_for_resource,
        "AddPermission": topics.add_permission,
        "RemovePermission": topics.remove_permission,
        "GetDataProtectionPolicy": topics.get_data_protection_policy,
        "PutDataProtectionPolicy": topics.put_data_protection_policy,
        "Subscribe": subs.subscribe,
        "ConfirmSubscription": subs.confirm_subscription,
        "Unsubscribe": subs.unsubscribe,
        "ListSubscriptions": subs.list_subscriptions,
        "ListSubscriptionsByTopic": subs.list_subscriptions_by_topic,
        "GetSubscriptionAttributes": subs.get_subscription_attributes,
        "SetSubscriptionAttributes": subs.set_subscription_attributes,
        "Publish": pub.publish,
        "PublishBatch": pub.publish_batch,
        "CreatePlatformApplication": plat.create_platform_application,
        "GetPlatformApplicationAttributes": plat.get_platform_application_attributes,
        "SetPlatformApplicationAttributes": plat.set_platform_application_attributes,
        "ListEndpointsByPlatformApplication": plat.list_endpoints_by_platform_application,
        "CreatePlatformEndpoint": plat.create_platform_endpoint,
        "DeletePlatformApplication": plat.delete_platform_application,
        "ListPlatformApplications": plat.list_platform_applications,
        "GetEndpointAttributes": plat.get_endpoint_attributes,
        "SetEndpointAttributes": plat.set_endpoint_attributes,
        "DeleteEndpoint": plat.delete_endpoint,
        "GetSMSAttributes": plat.get_sms_attributes,
        "SetSMSAttributes": plat.set_sms_attributes,
        "CheckIfPhoneNumberIsOptedOut": plat.check_if_phone_number_is_opted_out,
        "ListPhoneNumbersOptedOut": plat.list_phone_numbers_opted_out,
        "OptInPhoneNumber": plat.opt_in_phone_number,
        "GetSMSSandboxAccountStatus": plat.get_sms_sandbox_account_status,
        "ListSMSSandboxPhoneNumbers": plat.list_sms_sandbox_phone_numbers,
        "CreateSMSSandboxPhoneNumber": plat.create_sms_sandbox_phone_number,
        "VerifySMSSandboxPhoneNumber": plat.verify_sms_sandbox_phone_number,
        "DeleteSMSSandboxPhoneNumber": plat.delete_sms_sandbox_phone_number,
        "ListOriginationNumbers": plat.list_origination_numbers,
    }
    missing = set(service().query_model.operation_names) - set(handlers)
    assert not missing, f"SNS actions without a handler: {sorted(missing)}"

    async def close() -> None:  # the server's shutdown: stop the signing workers
        state.close_signing()

    return ServiceFrontend(service(), handlers, map_error, close=close)
