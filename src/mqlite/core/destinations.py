"""DestinationPolicy: which HTTP(S) endpoints the broker may send to on a client's behalf.

SNS HTTP/S subscriptions, EventBridge API destinations (and their OAuth token
endpoints) and Firehose HTTP endpoint destinations make the broker POST to a URL a
client chose; on a shared host that reaches whatever the broker can reach (loopback
admin ports, cloud metadata at 169.254.169.254). The operator lists what is allowed
(`--http-destination`, repeatable; settings `http_destinations`):

- `*`: anything (also the meaning of an empty list: the local-use default);
- a host name, `api.example.com`, or a suffix wildcard, `*.example.com`: URLs naming
  that host are allowed (whatever it resolves to: the operator trusts the name);
- an address or network, `127.0.0.1`, `10.0.0.0/8`, `::1`: URLs whose host is such an
  address, or a name that resolves only to allowed addresses, are allowed.

`refusal(url)` is the check made when a client registers an endpoint and again before
each request (None = allowed, or allowed if the name resolves inside a network);
`session()` makes an aiohttp session whose resolver drops addresses outside the
networks, so a name cannot resolve (or re-resolve) its way to a forbidden address
between the check and the connection. A refusal raises `DestinationRefused`, which
deliveries treat as a permanent failure (no retries). Pure data but for `session()`.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(OSError):
    """An HTTP destination outside the operator's policy."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    any_host: bool = True
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()  # ".example.com" for "*.example.com"
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> DestinationPolicy:
        """The policy of `entries` (see module docstring); ValueError names a bad entry."""
        items = [e.strip() for e in entries if e.strip()]
        if not items or "*" in items:
            return cls()
        hosts, suffixes, networks = set(), [], []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            name = item.lower().rstrip(".")
            if name.startswith("*."):
                suffixes.append(name[1:])
                name = name[2:]
            label = name.replace("-", "").replace("_", "")
            if not name or not all(part.isalnum() for part in label.split(".")):
                raise ValueError(f"not a host name, address or network: {item!r}")
            if not item.startswith("*."):
                hosts.add(name)
        return cls(False, frozenset(hosts), tuple(suffixes), tuple(networks))

    def describe(self) -> str:
        """One line for the start-up log."""
        if self.any_host:
            return "any host (local default; restrict with --http-destination)"
        parts = sorted(self.hosts) + [f"*{s}" for s in self.suffixes] + [str(n) for n in self.networks]
        return ", ".join(parts)

    def allows_name(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return self.any_host or name in self.hosts or name.endswith(self.suffixes)

    def allows_address(self, address: str) -> bool:
        if self.any_host:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be sent to, or None (see module docstring)."""
        if self.any_host:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return f"{url} is not a valid URL"
        if parts.scheme not in ("http", "https") or not host:
            return f"{url} is not an http(s) URL"
        if self.allows_name(host):
            return None
        try:
            ipaddress.ip_address(host)
        except ValueError:  # a name: allowed if it resolves inside the networks
            return None if self.networks else f"{host} is not an allowed HTTP destination"
        return None if self.allows_address(host) else f"{host} is not an allowed HTTP destination"

    def session(self, **kwargs: Any) -> Any:
        """An aiohttp ClientSession that connects only where this policy allows."""
        import aiohttp

        connector = None if self.any_host else aiohttp.TCPConnector(resolver=_resolver_class()(self))
        return aiohttp.ClientSession(connector=connector, **kwargs)


@functools.cache
def _resolver_class() -> type:
    """aiohttp's default resolver, keeping only the addresses a policy allows (built on
    first use, so importing core does not import aiohttp)."""
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import DefaultResolver

    class PolicyResolver(AbstractResolver):  # type: ignore[misc]
        def __init__(self, policy: DestinationPolicy) -> None:
            self.policy = policy
            self.inner = DefaultResolver()

        async def resolve(self, host: str, port: int = 0,  # type: ignore[override]
                          family: int = socket.AF_INET) -> list[dict[str, Any]]:
            found: list[Any] = await self.inner.resolve(host, port, family)  # type: ignore[arg-type]
            if self.policy.allows_name(host):
                return found
            kept = [r for r in found if self.policy.allows_address(str(r["host"]))]
            if not kept:
                raise DestinationRefused(f"{host} resolves outside the allowed HTTP destinations")
            return kept

        async def close(self) -> None:
            await self.inner.close()

    return PolicyResolver
