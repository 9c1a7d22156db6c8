"""The one authorization hook of the admin and reset endpoints: `require_admin`.

The rule (`mqlite.security.users`): with no user configured every caller is an admin,
as on a developer's machine; with users configured (`--user`, `--users-file` or the
per-protocol aliases such as `--aws-key`), a caller must present an administrator's
name and secret (for an AWS key: access key id and secret access key) as HTTP Basic
credentials, otherwise the request is refused with a 403 problem. An administrator
has the role `admin`, or is any user while no user has that role.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from mqlite.protocols.http.admin.problems import TYPE_BASE, Problem
from mqlite.security.users import Users
from mqlite.settings import Settings


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """(name, secret) of an `Authorization: Basic` header, or None."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def is_admin(request: web.Request, settings: Settings) -> bool:
    users = Users.from_settings(settings)
    if not users:
        return True
    creds = basic_credentials(request)
    user = users.check(*creds) if creds is not None else None
    return user is not None and users.may_administer(user)


def require_admin(request: web.Request, settings: Settings) -> None:
    """Raise a 403 problem unless the caller may administer the broker."""
    if not is_admin(request, settings):
        raise Problem(403, "Forbidden",
                      "this operation needs an admin: send an admin's credentials "
                      "(HTTP Basic: access key id and secret)", TYPE_BASE + "forbidden")
