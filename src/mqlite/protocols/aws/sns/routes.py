"""The SNS HTTP routes outside the AWS query API, under `/_mqlite/sns/`.

    GET /_mqlite/sns/<cert name>.pem   the signing certificate (the SigningCertURL)
    GET /_mqlite/sns/outbox[?protocol=email]  the outbox as JSON {"messages": [...]}
    DELETE /_mqlite/sns/outbox          empty the outbox

`mount(app, core, settings)` adds them to the server's aiohttp application (the same
signature as the other HTTP front-ends, so `server.HTTP_FRONTENDS` can list this
module). SubscribeURL and UnsubscribeURL need no route of their own: they are query-API
GETs (`/?Action=ConfirmSubscription...`, `/?Action=Unsubscribe...`) that the AWS app
serves. State is shared with the SNS front-end through `state_for(core)`.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mqlite.protocols.aws.sns.common import state_for
from mqlite.settings import Settings


def mount(app: web.Application, core: Any, settings: Settings) -> None:
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

    app.router.add_get("/_mqlite/sns/outbox", outbox)
    app.router.add_delete("/_mqlite/sns/outbox", outbox)
    app.router.add_get(r"/_mqlite/sns/{name:SimpleNotificationService-[0-9a-f]+\.pem}", cert)
