"""What an AWS service front-end hands the HTTP app: its model, handlers and error table.

Each service module (`mqlite.protocols.aws.sqs`, `.sts`, later `.sns`, `.kinesis`,
`.firehose`, `.events`) exposes `build(core, settings) -> ServiceFrontend`. A handler is
`async def handler(ctx: AwsContext, params: dict) -> dict | None` returning the output
shape's members as Python values (blobs as bytes, timestamps as datetime or epoch
seconds; only members of the shape, absent ones left out rather than None: the codec
hands pure subtrees to orjson unchanged); it raises `AwsError` for a client's
mistake, or lets a core error propagate for `map_error` to translate.
Two other results are supported: `RawResult(body, content_type=None)` (from `wire`), a
body the handler rendered itself, sent unchanged; and `AwsStream(content_type, body,
headers=())`, a streamed body: the app sends status 200 and the headers at once, then
writes each chunk the async iterator yields as it comes (HTTP/1.1 chunked), and closes
the iterator (`aclose`) when the client goes away. A handler validates its input before
returning a stream: once streaming, errors can only be reported inside the body
(event-stream exception messages, for instance).
`AwsContext` is one request's facts: region (credential scope, else the configured
default), account, the Host the client dialled (for URLs it builds), the protocol, the
request id, and the URL path (query-protocol SQS sends to the queue URL). The account
is the access key's (`--aws-account-of`, STS temporary credentials), else the server's;
`namespace.of(ctx)` turns names, URLs and ARNs into core names.
Values only; no I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mqlite.protocols.aws.wire import AwsError, AwsService, Protocol, RawResult

__all__ = ["AwsContext", "AwsStream", "Handler", "RawResult", "ServiceFrontend"]


@dataclass(frozen=True, slots=True)
class AwsContext:
    region: str
    account: str
    host: str  # the Host header ("127.0.0.1:4566")
    scheme: str
    protocol: Protocol
    request_id: str
    path: str = "/"
    access_key: str | None = None
    verified: bool = False  # the signature was checked against configured keys
    # The server's default account and region ("" = this request's): entities of that
    # namespace keep bare core names (namespace.py).
    home_account: str = ""
    home_region: str = ""
    # The user an STS temporary key acts for (None: the access key is the user).
    assumed_by: str | None = None
    # True once the client has gone away (a long poll can then give its messages back).
    disconnected: Callable[[], bool] = field(default=lambda: False)

    @property
    def principal(self) -> str | None:
        """The authenticated user's name (the access key id, or the user who assumed the
        role of an STS temporary key); None while auth is off."""
        if not self.verified:
            return None
        return self.assumed_by if self.assumed_by is not None else self.access_key

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


@dataclass(frozen=True, slots=True)
class AwsStream:
    """A streamed response body (see module docstring)."""

    content_type: str
    body: AsyncIterator[bytes]
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[
    [AwsContext, dict[str, Any]], Awaitable[Mapping[str, Any] | RawResult | AwsStream | None]
]


def _no_mapping(exc: Exception) -> AwsError | None:
    return None


@dataclass(frozen=True, slots=True)
class ServiceFrontend:
    service: AwsService
    handlers: Mapping[str, Handler]
    map_error: Callable[[Exception], AwsError | None] = _no_mapping
    # Query-protocol services that accept resource URLs as the request path (SQS:
    # /<account>/<queue>); `path_param` is then filled with the full URL when absent
    # (older SDKs send SQS actions to the queue URL without a QueueUrl parameter).
    path_routed: bool = False
    path_param: str | None = None
    # called once when the server stops (background delivery, signing workers...)
    close: Callable[[], Awaitable[None]] | None = None
