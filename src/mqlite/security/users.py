"""The one user model: who may log in to any front-end, with which secret and roles.

A user is written `NAME:SECRET[:ROLES]`, ROLES being role names joined by `+`
(`alice:s3cret:admin+ops`); `+` cannot appear in a role name and is not the list
separator of `MQLITE_USER` (`,`). NAME ends at the first `:`. When there are two or more
colons, the text after the last one is the roles, so a secret that contains `:` is
written with a trailing `:` (`bob:pa:ss:` is user bob, secret `pa:ss`, no roles).
The same user logs in everywhere: as the SigV4 access key id (NAME) and secret key
(SECRET), Kafka SASL PLAIN and SCRAM-SHA-256/512, AMQP PLAIN/AMQPLAIN and Redis
AUTH/HELLO. Sources, merged by `Users.from_settings`: `--user` (`Settings.users`), the
users file (`Settings.users_file`: one user per line, `#` comments, blank lines), and
the per-protocol aliases `--aws-key`, `--kafka-user`, `--amqp-user`, `--redis-user`
(no roles) and `--redis-password` (user `default`). One name defined twice with
different secrets or roles is an error. The role `admin` is the administrator
(`/_mqlite/*` endpoints and the admin API); while no user has it, every user is one
(`Users.may_administer`), so setups with only `--aws-key` keep their admin access.

Each authenticated connection or request carries its principal, the user name (None
while auth is off): `Session.principal` (Kafka), `AmqpConnection.principal`,
`RespConnection.principal`, `AwsContext.principal`; `Users.get(principal)` gives the
`User` with its roles.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqlite.errors import MqliteError

ADMIN = "admin"  # the administrator role
ROLE_SEPARATOR = "+"
_ROLE = re.compile(r"[A-Za-z0-9_.\-]+\Z")


class UsersError(MqliteError):
    """A user definition could not be read; the message names where (file and line)."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    secret: str = ""
    roles: tuple[str, ...] = ()

    @property
    def admin(self) -> bool:
        return ADMIN in self.roles

    def __repr__(self) -> str:  # never print a secret, even in a traceback
        return f"User(name={self.name!r}, roles={self.roles!r})"


def parse_user(spec: str) -> User:
    """`NAME:SECRET[:ROLES]` -> User; ValueError with a one-line reason otherwise."""
    text = spec.strip()
    name, sep, rest = text.partition(":")
    if not sep:
        raise ValueError("expected NAME:SECRET[:ROLES]; an entry has no ':'")
    if not name or any(c.isspace() or c == "," for c in name):
        raise ValueError(f"bad user name {name!r}: empty, or contains a space or ','")
    roles: tuple[str, ...] = ()
    if ":" in rest:
        rest, _, role_text = rest.rpartition(":")
        roles = tuple(r for r in role_text.split(ROLE_SEPARATOR) if r)
        for role in roles:
            if not _ROLE.match(role):
                raise ValueError(f"user {name!r}: bad role {role!r} (roles are joined by '+')")
    if not rest:
        raise ValueError(f"user {name!r}: empty secret")
    return User(name, rest, roles)


def read_users_file(path: Path) -> tuple[User, ...]:
    """The users of a users file; UsersError naming the file and line on a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersError(f"users file {path}: {exc}") from None
    users = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            users.append(parse_user(line))
        except ValueError as exc:
            raise UsersError(f"users file {path}, line {number}: {exc}") from None
    return tuple(users)


class Users:
    """The configured users, by name; empty means authentication is off."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.by_name: dict[str, User] = {}
        for user in users:
            known = self.by_name.get(user.name)
            if known is not None and known != user:
                raise UsersError(f"user {user.name!r} is defined twice, with different secrets or roles")
            self.by_name[user.name] = user

    @classmethod
    def from_settings(cls, settings: Any) -> Users:
        """Every source of users in `settings` (see module docstring), merged."""
        found: list[User] = []
        for spec in getattr(settings, "users", ()):
            try:
                found.append(spec if isinstance(spec, User) else parse_user(spec))
            except ValueError as exc:
                raise UsersError(f"--user: {exc}") from None
        users_file = getattr(settings, "users_file", None)
        if users_file is not None:
            found.extend(read_users_file(users_file))
        for alias in ("aws_keys", "kafka_users", "amqp_users", "redis_users"):
            found.extend(User(name, secret) for name, secret in getattr(settings, alias, ()))
        password = getattr(settings, "redis_password", None)
        if password is not None:
            found.append(User("default", password))
        return cls(found)

    @property
    def enabled(self) -> bool:
        """Whether authentication is on (any user configured)."""
        return bool(self.by_name)

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def __len__(self) -> int:
        return len(self.by_name)

    def __iter__(self) -> Iterator[User]:
        return iter(self.by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str | None) -> User | None:
        return None if name is None else self.by_name.get(name)

    def by_access_key(self, access_key_id: str) -> User | None:
        """The user whose SigV4 access key id is `access_key_id` (the user name)."""
        return self.by_name.get(access_key_id)

    def secret(self, name: str) -> str | None:
        user = self.by_name.get(name)
        return None if user is None else user.secret

    def secrets(self) -> dict[str, str]:
        """name -> secret, the shape SigV4 verification and SCRAM derivation read."""
        return {u.name: u.secret for u in self.by_name.values()}

    def may_administer(self, user: User) -> bool:
        """Whether `user` is an administrator: has the `admin` role or, while no user
        has it (only per-protocol aliases, or `--user` without roles), any user."""
        return user.admin or not any(u.admin for u in self.by_name.values())

    def check(self, name: str, secret: str | bytes) -> User | None:
        """The user if `secret` is theirs (compared in constant time), else None."""
        user = self.by_name.get(name)
        given = secret if isinstance(secret, bytes) else secret.encode("utf-8", "surrogateescape")
        expected = (user.secret if user is not None else "\0").encode("utf-8", "surrogateescape")
        ok = hmac.compare_digest(expected, given)
        return user if ok and user is not None else None
