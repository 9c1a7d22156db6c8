"""Start-up security checks: resolve users and TLS once, refuse an open network server,
and say each listener's auth mode.

`prepare(settings)` reads the users file into `Settings.users` (so front-ends never read
it again), makes the `--tls auto` certificates, checks the TLS files, and refuses a
non-loopback `host` without authentication unless `insecure` is set (RabbitMQ's
loopback-only `guest` is the model: open is for this machine only). It raises
`MqliteError` with one line; `mqlite serve` prints it and exits 1. `auth_lines(settings,
ports)` are the start-up log lines, one per listener.
"""

from __future__ import annotations

import ipaddress
import logging

from mqlite.errors import MqliteError
from mqlite.security import tls
from mqlite.security.users import ROLE_SEPARATOR, Users
from mqlite.settings import Settings

log = logging.getLogger("mqlite.security")


class InsecureError(MqliteError):
    """A network-reachable listener would run without authentication."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def prepare(settings: Settings) -> Settings:
    """The settings the front-ends run with (users resolved, TLS files checked)."""
    users = Users.from_settings(settings)
    settings = settings.replace(
        users=tuple(f"{u.name}:{u.secret}:{ROLE_SEPARATOR.join(u.roles)}" for u in users), users_file=None)
    if not users and not is_loopback(settings.host):
        if not settings.insecure:
            raise InsecureError(
                f"listening on {settings.host} without authentication: configure --user "
                "(or --users-file), or pass --insecure to serve everyone on the network")
        log.warning("--insecure: listening on %s without authentication", settings.host)
    for name, _account in settings.aws_accounts:
        if name not in users:  # an account for nobody is a typo that would go unnoticed
            raise MqliteError(f"--aws-account-of {name}: no user {name!r} is configured (--user)")
    return tls.prepare(settings)


def auth_lines(settings: Settings, ports: dict[str, int]) -> list[str]:
    """One line per started listener: its transport security and how clients log in."""
    users = Users.from_settings(settings)
    n = len(users)
    secure = tls.enabled(settings)
    wire = "TLS" + (" with client certificates (mTLS)" if settings.tls_ca else "") if secure else "plaintext"
    modes = {
        "http": (f"SigV4 required ({n} access keys); /_mqlite/* needs an admin user (HTTP Basic)"
                 if n else "any SigV4 signature accepted; /_mqlite/* open"),
        "kafka": (f"SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 required ({n} users), "
                  f"security.protocol={'SASL_SSL' if secure else 'SASL_PLAINTEXT'}"
                  if n else f"no authentication, security.protocol={'SSL' if secure else 'PLAINTEXT'}"),
        "amqp": (f"PLAIN/AMQPLAIN required ({n} users)" if n else
                 "guest:guest from any address (--insecure)" if settings.insecure else
                 "guest:guest from loopback only"),
        "redis": (f"AUTH required ({n} users)" if n else "no authentication (default user nopass)"),
        "mqtt": (f"user name and password required ({n} users)" if n else "no authentication (anonymous)"),
        "stomp": (f"login/passcode required ({n} users)" if n else "guest:guest (or no login) from loopback only"
                  if not settings.insecure else "guest:guest (or no login) from any address (--insecure)"),
    }
    return [f"{name} auth: {modes.get(name, 'n/a')}; {wire}" for name in ports]
