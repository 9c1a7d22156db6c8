"""The SNS HTTP routes outside the AWS query API, under `/_mqlite/sns/`.

    GET /_mqlite/sns/<cert name>.pem   the signing certificate (the SigningCertURL)
    GET /_mqlite/sns/outbox[?protocol=email]  the outbox as JSON {"messages": [...]}
    DELETE /_mqlite/sns/outbox          empty the outbox
    GET /_mqlite/sns/confirm?TopicArn=&Token=        ConfirmSubscription, unsigned
    GET /_mqlite/sns/unsubscribe?SubscriptionArn=    Unsubscribe, unsigned

`mount(app, core, settings)` adds them to the server's aiohttp application (the same
signature as the other HTTP front-ends, so `server.HTTP_FRONTENDS` can list this
module). SubscribeURL and UnsubscribeURL are query-API GETs (`/?Action=
ConfirmSubscription...`, `/?Action=Unsubscribe...`) served by the AWS app, as on AWS;
but that app demands SigV4 when `aws_keys` is set, while AWS serves these links to
anyone holding them, so then the links point at the two unsigned routes here (their
answers are the query API's XML). State is shared with the SNS front-end through
`state_for(core)`.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import state_for
from mqlite.protocols.aws.wire import (
    AwsError,
    Protocol,
    encode_error,
    encode_result,
    new_request_id,
)
from mqlite.settings import Settings


def mount(app: web.Application, core: BrokerCore, settings: Settings) -> None:
    state = state_for(core, settings)
    state.routes_mounted = True

    async def cert(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name != state.signer.cert_name:
            raise web.HTTPNotFound()
        return web.Response(body=state.signer.cert_pem, content_type="application/x-pem-file")

    async def outbox(request: web.Request) -> web.Response:
        from mqlite.protocols.aws.sns.outbox import listing

        if request.method == "DELETE":
            state.outbox.clear()
            return web.Response(status=204)
        messages = listing(state, request.query.get("protocol"))
        return web.Response(body=orjson.dumps({"messages": messages}), content_type="application/json")

    async def link(request: web.Request) -> web.Response:
        # The SNS front-end's modules load on first use, as the service itself does.
        from mqlite.protocols.aws.sns import service
        from mqlite.protocols.aws.sns.errors import map_error
        from mqlite.protocols.aws.sns.subscriptions import SubscriptionActions

        subs = SubscriptionActions(state)
        operation = "ConfirmSubscription" if request.path.endswith("/confirm") else "Unsubscribe"
        request_id = new_request_id()
        params = dict(request.query)
        # the link names its topic by ARN: serve it in that ARN's account and region
        parts = str(params.get("TopicArn") or params.get("SubscriptionArn") or "").split(":")
        ns = namespace.home(settings)
        if len(parts) >= 6:
            ns = ns.at(parts[4] or None, parts[3] or None)
        ctx = AwsContext(ns.region, ns.account, request.host, request.scheme, Protocol.QUERY, request_id,
                         request.path, home_account=ns.home_account, home_region=ns.home_region)
        ns_token = namespace.CURRENT.set(ns)
        try:
            try:
                handler = subs.confirm_subscription if operation == "ConfirmSubscription" else subs.unsubscribe
                result = await handler(ctx, params)
            except MqliteError as exc:
                mapped = exc if isinstance(exc, AwsError) else map_error(exc)
                if mapped is None:
                    raise
                raise mapped from exc
            wire = encode_result(service(), Protocol.QUERY, operation, result, request_id)
        except AwsError as exc:
            wire = encode_error(service(), Protocol.QUERY, exc, request_id)
        finally:
            namespace.CURRENT.reset(ns_token)
        return web.Response(status=wire.status, headers=wire.headers, body=wire.body)

    app.router.add_get("/_mqlite/sns/outbox", outbox)
    app.router.add_delete("/_mqlite/sns/outbox", outbox)
    app.router.add_get("/_mqlite/sns/confirm", link)
    app.router.add_get("/_mqlite/sns/unsubscribe", link)
    app.router.add_get(r"/_mqlite/sns/{name:SimpleNotificationService-[0-9a-f]+\.pem}", cert)
