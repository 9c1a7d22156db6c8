"""STS temporary credentials: the access keys AssumeRole hands out, and whom they act as.

`issue(core, ...)` makes one (access key id `ASIA` + 16 characters, a 40-character secret,
a session token) for a role ARN's account; a request signed with it acts in that account
(`account_of`, read by the HTTP app's account resolution, protocols/aws/namespace.py) and
is authorized as the user who assumed the role (`find(...).user`; `None` while
authentication is off). While users are configured, `KeyRing` lets SigV4 verify requests
signed with a live temporary key, and the app checks the session token the request
carries (`X-Amz-Security-Token`), as AWS does. Kept in memory per broker core: they
expire (15 minutes to 12 hours) and a restart forgets them, as a rotated STS key.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import base64
import secrets
import string
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from mqlite.core.api import BrokerCore

_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class TempCredential:
    access_key: str
    secret: str
    token: str
    account: str
    user: str | None  # the principal that assumed the role
    role_arn: str
    session: str
    role_id: str
    expires_ms: int

    @property
    def assumed_arn(self) -> str:
        role = self.role_arn.split(":role/", 1)[-1].rsplit("/", 1)[-1]
        return f"arn:aws:sts::{self.account}:assumed-role/{role}/{self.session}"


_BY_CORE: weakref.WeakKeyDictionary[Any, dict[str, TempCredential]] = weakref.WeakKeyDictionary()


def _store(core: BrokerCore) -> dict[str, TempCredential]:
    found = _BY_CORE.get(core)
    if found is None:
        found = _BY_CORE[core] = {}
    return found


def _now_ms(core: BrokerCore) -> int:
    return int(core.clock.now_ms())


def issue(core: BrokerCore, account: str, user: str | None, role_arn: str, session: str,
          duration_s: int) -> TempCredential:
    store = _store(core)
    now = _now_ms(core)
    for key in [k for k, c in store.items() if c.expires_ms <= now]:
        del store[key]  # forget expired ones as new ones are made
    role_id = "AROA" + "".join(secrets.choice(_ALPHABET) for _ in range(17))
    cred = TempCredential(
        access_key="ASIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16)),
        secret=base64.b64encode(secrets.token_bytes(30)).decode(),
        token=base64.b64encode(secrets.token_bytes(96)).decode(),
        account=account, user=user, role_arn=role_arn, session=session, role_id=role_id,
        expires_ms=now + duration_s * 1000,
    )
    store[cred.access_key] = cred
    return cred


def find(core: BrokerCore, access_key: str) -> TempCredential | None:
    """The live temporary credential of an access key id, else None."""
    store = _BY_CORE.get(core)
    if not store:
        return None
    cred = store.get(access_key)
    if cred is None or cred.expires_ms <= _now_ms(core):
        return None
    return cred


def account_of(core: BrokerCore, access_key: str) -> str | None:
    cred = find(core, access_key) if access_key.startswith("ASIA") else None
    return cred.account if cred is not None else None


class KeyRing(Mapping[str, str]):
    """The configured keys (access key id -> secret) plus the live temporary ones."""

    def __init__(self, keys: Mapping[str, str], core: BrokerCore) -> None:
        self.static = keys
        self.core = core

    def __getitem__(self, key: str) -> str:
        found = self.static.get(key)
        if found is not None:
            return found
        cred = find(self.core, key)
        if cred is None:
            raise KeyError(key)
        return cred.secret

    def __iter__(self) -> Iterator[str]:
        yield from self.static
        yield from _BY_CORE.get(self.core, {})

    def __len__(self) -> int:
        return len(self.static) + len(_BY_CORE.get(self.core, {}))

    def __bool__(self) -> bool:
        return bool(self.static)
