"""The one authorization hook of the admin and reset endpoints: `require_admin`.

Today's rule: with no credentials configured (`Settings.aws_keys` empty) every caller
is an admin, as on a developer's machine; with AWS keys configured, a caller must
present one of them as HTTP Basic credentials (access key id : secret access key),
otherwise the request is refused with a 403 problem. The user model (roles per user)
plugs in here: this function is the only place that decides.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from aiohttp import web

from mqlite.protocols.http.admin.problems import TYPE_BASE, Problem


def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def is_admin(request: web.Request, settings: Any) -> bool:
    keys = dict(getattr(settings, "aws_keys", ()) or ())
    if not keys:
        return True
    creds = _basic(request)
    if creds is None or creds[0] not in keys:
        return False
    return hmac.compare_digest(keys[creds[0]].encode(), creds[1].encode())


def require_admin(request: web.Request, settings: Any) -> None:
    """Raise a 403 problem unless the caller may administer the broker."""
    if not is_admin(request, settings):
        raise Problem(403, "Forbidden",
                      "this operation needs an admin: send an admin's credentials "
                      "(HTTP Basic: access key id and secret)", TYPE_BASE + "forbidden")
