"""The one resolver from AWS names, URLs and ARNs to core entity names: (account, region, name).

An AWS queue, topic, stream, delivery stream or bus lives in an account and a region;
core entities (queues, routers, streams) share one flat name space with Kafka, AMQP and
Redis. The AWS front-ends therefore name their core entities

    [<account>:]<name>[@<region>]

with the account prefix only outside the server's home account (`--aws-account`) and the
region suffix only outside its home region (`--aws-region`): the home account's home
region keeps bare names, so data directories written before accounts and regions were
isolated keep working unchanged (SNS topics of other regions were `<name>@<region>`
already). No AWS entity name holds `:` or `@`, so the qualified names cannot collide
with an AWS name; a core name whose body holds one (an AMQP queue `a:b`) is not
addressable through the AWS APIs (`Namespace.core` answers None, callers "not found").

`Namespace(account, region, home_account, home_region)` is one request's view: `core()`
qualifies a name of this namespace (or of the account/region an ARN or URL names),
`local()` answers a core name's AWS name when it belongs to this namespace (listings),
`split()` a core name's (account, region, name) (ARNs of stored references).
`CURRENT` holds the namespace of the AWS request being served (set by the HTTP app for
the handler's task), for helpers reached without the request context; outside a request
it is None and callers fall back to `home(settings)`.
Pure values; no I/O.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from mqlite.settings import Settings

ACCOUNT = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class Namespace:
    account: str
    region: str
    home_account: str
    home_region: str

    @property
    def is_home(self) -> bool:
        return self.account == self.home_account and self.region == self.home_region

    def at(self, account: str | None = None, region: str | None = None) -> Namespace:
        """The namespace of another account and/or region (an ARN's)."""
        if (account is None or account == self.account) and (region is None or region == self.region):
            return self
        return Namespace(account or self.account, region or self.region, self.home_account, self.home_region)

    def core(self, name: str) -> str | None:
        """The core name of AWS entity `name` in this namespace; None for a name no AWS
        entity can have (it holds a separator)."""
        if not name or ":" in name or "@" in name:
            return None
        if self.account != self.home_account:
            name = f"{self.account}:{name}"
        if self.region != self.home_region:
            name = f"{name}@{self.region}"
        return name

    def split(self, core_name: str) -> tuple[str, str, str]:
        """(account, region, AWS name) of a core name (home account/region when bare)."""
        account, region, name = self.home_account, self.home_region, core_name
        head, colon, rest = name.partition(":")
        if colon and head != self.home_account and ACCOUNT.match(head):
            account, name = head, rest
        body, at, suffix = name.rpartition("@")
        if at and body and suffix and suffix != self.home_region:
            region, name = suffix, body
        return account, region, name

    def local(self, core_name: str) -> str | None:
        """The AWS name of a core entity of this namespace; None when it is another
        account's or region's, or not addressable through AWS."""
        if self.is_home and ":" not in core_name and "@" not in core_name:
            return core_name  # the common case, without parsing
        account, region, name = self.split(core_name)
        if account != self.account or region != self.region or ":" in name or "@" in name:
            return None
        return name

    def arn(self, service: str, core_name: str, resource: str = "") -> str:
        """`arn:aws:<service>:<region>:<account>:<resource><name>` of a core entity."""
        account, region, name = self.split(core_name)
        return f"arn:aws:{service}:{region}:{account}:{resource}{name}"

    def of_arn(self, arn: str, service: str) -> tuple[Namespace, str] | None:
        """(namespace, resource) of an ARN of `service`; None when it is not one. An
        empty region or account means this namespace's."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != service or not parts[5]:
            return None
        return self.at(parts[4] or None, parts[3] or None), parts[5]

    def core_of_arn(self, arn: str, service: str, resource: str = "") -> str | None:
        """The core name an ARN of `service` names (`resource` prefix stripped), or None."""
        found = self.of_arn(arn, service)
        if found is None or not found[1].startswith(resource):
            return None
        ns, res = found
        return ns.core(res[len(resource):])

    def core_of_url(self, url: str) -> str | None:
        """The core name of a queue URL `.../<account>/<name>` (the account segment
        names the account, as SQS's does; the region is the request's)."""
        path = urlsplit(url).path if "?" in url or "#" in url else url
        head, _, name = path.rstrip("/").rpartition("/")
        if "%" in name:
            name = unquote(name)
        account = head.rpartition("/")[2]
        if account == self.account or not ACCOUNT.match(account):
            return self.core(name)  # the common case: the caller's own queue
        return self.at(account).core(name)


CURRENT: contextvars.ContextVar[Namespace | None] = contextvars.ContextVar("aws_namespace", default=None)


def home(settings: Settings) -> Namespace:
    """The server's home namespace (its default account and region)."""
    return Namespace(settings.aws_account, settings.aws_region, settings.aws_account, settings.aws_region)


def of(ctx: Any) -> Namespace:
    """The namespace of a request context (`frontend.AwsContext`)."""
    return Namespace(ctx.account, ctx.region, ctx.home_account or ctx.account, ctx.home_region or ctx.region)


def current(settings: Settings | None = None) -> Namespace | None:
    """The namespace of the request being served, else the home one of `settings`."""
    ns = CURRENT.get()
    if ns is None and settings is not None:
        return home(settings)
    return ns


class RequestScoped:
    """Mixin for a service's per-core state (needs `settings`): the namespace, account and
    region of the request being served, the home ones outside a request."""

    settings: Settings

    @property
    def ns(self) -> Namespace:
        return current(self.settings) or home(self.settings)

    @property
    def account(self) -> str:
        return self.ns.account

    @property
    def region(self) -> str:
        return self.ns.region
