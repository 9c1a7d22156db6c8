"""Who may call the native API `/_mqlite/*`: an admin user, once authentication is on.

With any user configured (`mqlite.security.users`), every `/_mqlite/*` route needs
HTTP Basic credentials (`Authorization: Basic base64(NAME:SECRET)`, as `curl -u`
sends) of an administrator (`Users.may_administer`: the role `admin`); without them the
answer is 401 with `WWW-Authenticate: Basic realm="mqlite"`, and a user who is not an
administrator gets 403. The admin API (`/_mqlite/api/`, `/_mqlite/reset`) applies the
same rule itself (`admin.auth.require_admin`), answering with problem documents. Basic
sends the secret as it is: use TLS (`--tls-cert` or `--tls auto`) off this machine.
Public all the same, because probes and subscribers call them without credentials:
`/_mqlite/health` (and `/_mqlite/ready`), and the SNS links AWS serves to anyone who
holds them: the signing certificate, `/_mqlite/sns/confirm`, `/_mqlite/sns/unsubscribe`.
Failed credentials count in `mqlite.security.throttle` and are answered after its delay.
With auth off, everything stays open, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from mqlite.core.api import BrokerCore
from mqlite.protocols.http.admin.auth import basic_credentials
from mqlite.security import throttle
from mqlite.security.users import Users
from mqlite.settings import Settings

log = logging.getLogger("mqlite.http")

PREFIX = "/_mqlite/"
PUBLIC = frozenset({"/_mqlite/health", "/_mqlite/ready", "/_mqlite/sns/confirm", "/_mqlite/sns/unsubscribe"})
PUBLIC_PREFIXES = ("/_mqlite/sns/SimpleNotificationService-",)  # the SNS signing certificate
# The admin API and reset guard themselves with the same rule (`admin.auth.require_admin`,
# 403 problem documents), so they are left to it.
ADMIN_API = ("/_mqlite/api/", "/_mqlite/reset")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def install(app: web.Application, core: BrokerCore, settings: Settings) -> None:
    """Guard `/_mqlite/*` on `app` when any user is configured."""
    users = Users.from_settings(settings)
    if not users:
        return
    failures = throttle.for_server(core)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(PREFIX) or is_public(path) or path.startswith(ADMIN_API):
            return await handler(request)
        creds = basic_credentials(request)
        name = creds[0] if creds is not None else None
        user = users.check(*creds) if creds is not None else None
        if user is None:
            if name is not None:
                log.info("http %s: %s %s: wrong credentials for user %r", request.remote, request.method, path, name)
                delay = failures.failed(request.remote or "")
                if delay:
                    await asyncio.sleep(delay)
            return web.json_response(
                {"error": "Unauthorized", "message": "an admin user's credentials are required (HTTP Basic)"},
                status=401, headers={"WWW-Authenticate": 'Basic realm="mqlite", charset="UTF-8"'})
        if not users.may_administer(user):
            return web.json_response(
                {"error": "Forbidden", "message": f"user {user.name!r} does not have the admin role"}, status=403)
        return await handler(request)

    app.middlewares.append(guard)

