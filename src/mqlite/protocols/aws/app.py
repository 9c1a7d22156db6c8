"""The AWS HTTP front-end: routes each request to a service and runs its handler.

`mount(app, core, settings)` adds one POST/GET route for every path except `/_mqlite/*`
to the server's aiohttp application. Routing, in order:
1. `X-Amz-Target: <targetPrefix>.<Operation>` -> the `json` protocol service with that
   target prefix (SQS `AmazonSQS`, Kinesis `Kinesis_20131202`, ...); Kinesis also takes
   the CBOR twin (`application/x-amz-cbor-1.1`, `wire/cbor.py`, answered in CBOR);
2. otherwise the `query` protocol: `Action=` from the URL query or the form body; the
   service is the SigV4 credential scope's service name, else a path-routed service
   (SQS queue URLs `/<account>/<queue>`), else the one service that has the action.
Then SigV4 is verified (when any user is configured, `mqlite.security.users`), the input decoded and
validated by the wire codec, the handler awaited, and the result or error encoded; an
`AwsStream` result is written with `aiohttp.web.StreamResponse` as its iterator yields.
Routing needs only the services' routing facts and handler names, so mounting builds no
service model: each model is loaded on its service's first request (`wire.model`).
Services are found by module name (`SERVICE_MODULES`): each exposes `build(core,
settings) -> ServiceFrontend`; a module that does not exist yet is skipped. Services in
`LAZY_SERVICES` are built on their first request (routing them needs only static facts),
the others at mount.
Invariant: every request gets an AWS-shaped answer (never a traceback, never a dropped
connection); an unexpected exception is logged and answered `InternalFailure` (500).
Concurrency: runs on the server's event loop; handlers may await (long polls).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import importlib.util
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from aiohttp import web

from mqlite.core import alarms
from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.aws import access, namespace, sigv4, sts_credentials, validation
from mqlite.protocols.aws.frontend import AwsContext, AwsStream, ServiceFrontend
from mqlite.protocols.aws.wire import (
    ROUTING,
    AwsError,
    Protocol,
    decode_json,
    decode_query,
    encode_error,
    encode_result,
    new_request_id,
    split_target,
)
from mqlite.protocols.aws.wire.codec import WireResponse
from mqlite.protocols.aws.wire.form import parse_form
from mqlite.protocols.observe import Observer
from mqlite.security import throttle
from mqlite.security.authz import authorizer_for
from mqlite.security.users import Users
from mqlite.settings import Settings

log = logging.getLogger("mqlite.aws")

SERVICE_MODULES = ("sqs", "sts", "sns", "kinesis", "firehose", "events")
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # JSON escaping can inflate a 1 MiB message 6x


# Services whose `build` has no start-up duty (nothing to resume on a running loop) are
# built on their first request. Routing them needs, besides `wire.ROUTING`, the
# query-protocol actions they serve (JSON services route by target prefix alone) and
# whether they take resource URLs as the path. Checked against `build(...).handlers` by
# tests/protocols/aws/test_lazy_services.py.
@dataclass(frozen=True, slots=True)
class LazyRouting:
    query_actions: frozenset[str]
    path_routed: bool = False


LAZY_SERVICES: dict[str, LazyRouting] = {
    "sqs": LazyRouting(frozenset({
        "AddPermission", "CancelMessageMoveTask", "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch", "CreateQueue", "DeleteMessage", "DeleteMessageBatch",
        "DeleteQueue", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues",
        "ListMessageMoveTasks", "ListQueueTags", "ListQueues", "PurgeQueue", "ReceiveMessage",
        "RemovePermission", "SendMessage", "SendMessageBatch", "SetQueueAttributes",
        "StartMessageMoveTask", "TagQueue", "UntagQueue",
    }), path_routed=True),
    "sts": LazyRouting(frozenset({"AssumeRole", "GetCallerIdentity"})),
    "sns": LazyRouting(frozenset({
        "AddPermission", "CheckIfPhoneNumberIsOptedOut", "ConfirmSubscription",
        "CreatePlatformApplication", "CreatePlatformEndpoint", "CreateSMSSandboxPhoneNumber",
        "CreateTopic", "DeleteEndpoint", "DeletePlatformApplication",
        "DeleteSMSSandboxPhoneNumber", "DeleteTopic", "GetDataProtectionPolicy",
        "GetEndpointAttributes", "GetPlatformApplicationAttributes", "GetSMSAttributes",
        "GetSMSSandboxAccountStatus", "GetSubscriptionAttributes", "GetTopicAttributes",
        "ListEndpointsByPlatformApplication", "ListOriginationNumbers",
        "ListPhoneNumbersOptedOut", "ListPlatformApplications", "ListSMSSandboxPhoneNumbers",
        "ListSubscriptions", "ListSubscriptionsByTopic", "ListTagsForResource", "ListTopics",
        "OptInPhoneNumber", "Publish", "PublishBatch", "PutDataProtectionPolicy",
        "RemovePermission", "SetEndpointAttributes", "SetPlatformApplicationAttributes",
        "SetSMSAttributes", "SetSubscriptionAttributes", "SetTopicAttributes", "Subscribe",
        "TagResource", "Unsubscribe", "UntagResource", "VerifySMSSandboxPhoneNumber",
    })),
    "kinesis": LazyRouting(frozenset()),
    "firehose": LazyRouting(frozenset()),
    "events": LazyRouting(frozenset()),
}

# Services with a start-up duty are lazy only while that duty is empty: firehose has
# no delivery stream to resume, events no rule to schedule nor replay to continue.
# Each names the catalog namespaces whose rows make it start at mount.
BUILD_AT_MOUNT_IF_STORED: dict[str, tuple[str, ...]] = {
    "firehose": ("firehose.streams",),
    "events": ("events/rules", "events/replays"),
}


def _lazy(name: str, core: BrokerCore) -> bool:
    if name not in LAZY_SERVICES or name not in ROUTING:
        return False
    return not any(core.catalog.kv_items(ns) for ns in BUILD_AT_MOUNT_IF_STORED.get(name, ()))


class ServiceSlot:
    """One service module: its front-end, built at mount or on first use."""

    __slots__ = ("_build", "_core", "_failed", "_frontend", "_settings", "name")

    def __init__(self, name: str, build: Callable[[Any, Settings], ServiceFrontend],
                 core: BrokerCore, settings: Settings) -> None:
        self.name = name
        self._build = build
        self._core = core
        self._settings = settings
        self._frontend: ServiceFrontend | None = None
        self._failed = False

    @property
    def built(self) -> ServiceFrontend | None:
        return self._frontend

    def frontend(self) -> ServiceFrontend:
        """The front-end, built now if it was not (raises `AwsError` if it cannot be)."""
        fe = self._frontend
        if fe is None:
            if self._failed:
                raise _unavailable(self.name)
            try:
                fe = self._frontend = self._build(self._core, self._settings)
            except Exception:
                self._failed = True
                log.exception("AWS service %s failed to load", self.name)
                raise _unavailable(self.name) from None
        return fe


def _unavailable(name: str) -> AwsError:
    return AwsError("ServiceUnavailable", f"The {name} service failed to load.", 503, sender=False)


def _load_slots(core: BrokerCore, settings: Settings) -> list[ServiceSlot]:
    """A slot for every service module that exists. Services in `LAZY_SERVICES` are
    imported and built on first use; the others now. One broken service is logged and
    skipped rather than taking the others down."""
    slots = []
    for name in SERVICE_MODULES:
        module_name = f"mqlite.protocols.aws.{name}"
        try:
            if _lazy(name, core):
                if importlib.util.find_spec(module_name) is not None:
                    slots.append(ServiceSlot(name, _import_build(module_name), core, settings))
                continue
            module = importlib.import_module(module_name)
            build = getattr(module, "build", None)
            if build is None:
                continue
            slot = ServiceSlot(name, build, core, settings)
            slot.frontend()
            slots.append(slot)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                log.exception("AWS service %s failed to load; skipped", name)
        except Exception:
            log.exception("AWS service %s failed to load; skipped", name)
    return slots


def _import_build(module_name: str) -> Callable[[Any, Settings], ServiceFrontend]:
    def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
        return importlib.import_module(module_name).build(core, settings)  # type: ignore[no-any-return]

    return build


class AwsApp:
    """The routing table and the one request handler; see module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.keys = Users.from_settings(settings).secrets()  # access key id (user name) -> secret
        self.authz = authorizer_for(core, settings)  # the one rule set of every protocol
        self.accounts = dict(settings.aws_accounts)  # access key id -> account (--aws-account-of)
        self.keyring = sts_credentials.KeyRing(self.keys, core)  # + STS temporary keys
        self._namespaces: dict[tuple[str, str], namespace.Namespace] = {}
        self.slots = _load_slots(core, settings)
        self.observer = Observer(core, settings)
        self.by_target: dict[str, ServiceSlot] = {}
        self.by_scope: dict[str, ServiceSlot] = {}
        self.by_action: dict[str, list[ServiceSlot]] = {}
        self.path_routed: ServiceSlot | None = None
        self._sig_rules: dict[str, sigv4.ServiceRules] = {}
        for slot in self.slots:
            fe = slot.built
            if fe is not None:
                svc = fe.service
                target, signing, endpoint = svc.target_prefix, svc.signing_name, svc.endpoint_prefix
                actions: Iterable[str] = fe.handlers
                path_routed = fe.path_routed
            else:
                facts, lazy = ROUTING[slot.name], LAZY_SERVICES[slot.name]
                target, signing, endpoint = facts.target_prefix, facts.signing_name, facts.endpoint_prefix
                actions, path_routed = lazy.query_actions, lazy.path_routed
            if target:
                self.by_target[target] = slot
            self.by_scope.setdefault(signing, slot)
            self.by_scope.setdefault(endpoint, slot)
            for op in actions:
                self.by_action.setdefault(op, []).append(slot)
            if path_routed and self.path_routed is None:
                self.path_routed = slot

    def _rules(self, signing_name: str) -> sigv4.ServiceRules:
        rules = self._sig_rules.get(signing_name)
        if rules is None:
            rules = self._sig_rules[signing_name] = sigv4.rules_for(signing_name)
        return rules

    def _authorize(self, service: str, operation: str, params: dict[str, Any],
                   principal: str | None, ns: namespace.Namespace) -> None:
        """The one authorization check (`access.permits`) for the entities the call
        touches, by core name (another account's, named by an ARN or URL, included)."""
        for op, kind, name in access.targets(service, operation, params, ns):
            if not access.permits(self.authz, bool(self.keys), principal, op, kind, name, ns):
                raise access.denied(service, operation, principal or "anonymous", ns, name)

    def _namespace(self, account: str, region: str) -> namespace.Namespace:
        """The (cached: one per account and region) namespace of a request."""
        found = self._namespaces.get((account, region))
        if found is None:
            if len(self._namespaces) >= 1024:  # regions are client-given while auth is off
                self._namespaces.clear()
            found = self._namespaces[(account, region)] = namespace.Namespace(
                account, region, self.settings.aws_account, self.settings.aws_region)
        return found

    def _principal(self, access_key: str | None, headers: Any) -> str | None:
        """The user a verified request acts as: its access key's, or for an STS temporary
        key, the user who assumed the role (its session token must come with it)."""
        if access_key is None or access_key in self.keys:
            return access_key
        cred = sts_credentials.find(self.core, access_key)
        if cred is None:
            return access_key
        if headers.get("x-amz-security-token") != cred.token:
            raise AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
        return cred.user

    def _account(self, access_key: str | None) -> str:
        """The account an access key acts in (namespace.py)."""
        if access_key:
            account = self.accounts.get(access_key) or sts_credentials.account_of(self.core, access_key)
            if account:
                return account
        return self.settings.aws_account

    @property
    def frontends(self) -> list[ServiceFrontend]:
        """The front-ends built so far."""
        return [fe for fe in (slot.built for slot in self.slots) if fe is not None]

    # -- routing ------------------------------------------------------------------------
    def _query_slot(self, action: str, scope: sigv4.Credential | None, path: str) -> ServiceSlot | None:
        if scope is not None and scope.service in self.by_scope:
            return self.by_scope[scope.service]
        if path not in ("", "/") and self.path_routed is not None:
            return self.path_routed
        candidates = self.by_action.get(action, [])
        return candidates[0] if candidates else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = new_request_id()
        fe: ServiceFrontend | None = None
        protocol = Protocol.QUERY
        too_large = False
        operation = ""
        params: Any = None
        error: str | None = None
        try:
            headers = request.headers  # case-insensitive
            target = headers.get("x-amz-target")
            if target:
                protocol = Protocol.JSON
                prefix, operation = split_target(target)
                slot = self.by_target.get(prefix)
                if slot is not None:
                    fe = slot.frontend()
            try:
                body = await self._read_body(request)
            except AwsError:
                too_large = True
                raise
            qs = request.query_string
            url_query = parse_form(qs) if qs else []
            pairs: dict[str, str] = {}
            if target:
                if fe is None:
                    raise AwsError("UnknownOperationException", f"Unknown target {target}", 400)
                ctype = headers.get("content-type", "")
                if ctype.startswith(CBOR_CONTENT_PREFIX) and fe.service.name in _cbor().CBOR_SERVICES:
                    protocol = Protocol.CBOR
                elif "json" not in ctype:
                    raise AwsError("SerializationException", f"Unsupported content type {ctype!r}", 400,
                                   query_code="InvalidParameterValue")
            else:
                pairs = dict(url_query)
                ctype = headers.get("content-type", "")
                if body and request.method == "POST":
                    if "json" in ctype:
                        raise AwsError("UnknownOperationException", "Missing X-Amz-Target header", 400)
                    try:
                        form = parse_form(body.decode())
                    except UnicodeDecodeError:
                        raise AwsError("MalformedQueryString", "The request body is not form-encoded UTF-8", 400) from None
                    pairs.update(form)
                operation = pairs.get("Action", "")
                if not operation:
                    raise AwsError("MissingAction", "Missing required parameter Action", 400)
            scope = sigv4.credential_scope(headers, dict(url_query) if url_query else {})
            if fe is None:
                found = self._query_slot(operation, scope, request.path)
                if found is None:
                    raise AwsError("InvalidAction", f"The action {operation} is not valid for this endpoint.", 400)
                fe = found.frontend()
            if self.keys:
                try:
                    scope = sigv4.verify(
                        sigv4.SignedRequest(
                            request.method, request.raw_path.split("?", 1)[0], url_query,
                            {k.lower(): v for k, v in headers.items()}, body,
                        ),
                        self.keyring,
                        dt.datetime.fromtimestamp(self.core.clock.now_ms() / 1000, dt.UTC),
                        self._rules(fe.service.signing_name),
                    )
                except AwsError as exc:
                    await self._refused(request, exc, scope)
                    raise
            if operation not in fe.handlers and fe.service.has_operation(operation):
                # a modelled operation this server does not serve: say so before the input
                raise AwsError("InvalidAction", f"The action {operation} is not implemented.", 400)
            # CBOR requests have the json protocol's shapes, errors and validation
            shapes = Protocol.JSON if protocol is Protocol.CBOR else protocol
            try:
                if protocol is Protocol.JSON:
                    params = decode_json(fe.service, operation, body)
                elif protocol is Protocol.CBOR:
                    params = _cbor().decode_cbor(fe.service, operation, body)
                else:
                    if fe.path_param and fe.path_param not in pairs and request.path not in ("", "/"):
                        pairs[fe.path_param] = f"{request.scheme}://{request.host}{request.path}"
                    operation, params = decode_query(fe.service, pairs)
            except AwsError as exc:
                raise validation.decode_error(fe.service, operation, shapes, exc) from None
            handler = fe.handlers.get(operation)
            if handler is None:
                raise AwsError("InvalidAction", f"The action {operation} is not implemented.", 400)
            validation.check(fe.service, operation, shapes, params)
            access_key = scope.access_key if scope is not None else None
            principal = self._principal(access_key, headers) if self.keys else None
            region = scope.region if scope is not None and scope.region else self.settings.aws_region
            account = self._account(access_key)
            ns = self._namespace(account, region)
            if self.authz.enabled or self.keys:
                self._authorize(fe.service.name, operation, params, principal, ns)
            ctx = AwsContext(
                region=region,
                account=account,
                host=self.settings.aws_advertised_host or request.host,
                scheme=request.scheme,
                protocol=protocol,
                request_id=request_id,
                path=request.path,
                access_key=access_key,
                verified=bool(self.keys),
                disconnected=lambda: request.transport is None or request.transport.is_closing(),
                home_account=self.settings.aws_account,
                home_region=self.settings.aws_region,
                assumed_by=principal if principal != access_key else None,
            )
            ns_token = namespace.CURRENT.set(ns)
            try:
                result = await handler(ctx, params)
            except MqliteError as exc:
                if isinstance(exc, AwsError):
                    raise
                _raise_if_storage_failure(self.core, exc)
                mapped = fe.map_error(exc)
                if mapped is None:
                    raise
                raise mapped from exc
            finally:
                namespace.CURRENT.reset(ns_token)
            if self.authz.enabled and operation.startswith("List"):
                result = access.filter_list(fe.service.name, operation, result,
                                            lambda kind, name: self.authz.allowed(principal, "read", kind, name), ns)
            if isinstance(result, AwsStream):
                self._observe(fe, operation, params, request, None, started)
                return await self._stream(request, result, request_id)
            if protocol is Protocol.CBOR:
                wire = _cbor().encode_cbor_result(fe.service, operation, result, request_id)
            else:
                wire = encode_result(fe.service, protocol, operation, result, request_id)
        except AwsError as exc:
            error = exc.code
            wire = _encode_error(fe, protocol, exc, request_id)
        except Exception as exc:
            try:
                _raise_if_storage_failure(self.core, exc)
            except AwsError as unavailable:
                wire = _encode_error(fe, protocol, unavailable, request_id)
                return web.Response(status=wire.status, headers=wire.headers, body=wire.body)
            log.exception("AWS request failed (request id %s)", request_id)
            err = AwsError("InternalFailure", "The request processing has failed because of an unknown error.", 500, sender=False)
            error = err.code
            wire = _encode_error(fe, protocol, err, request_id)
        self._observe(fe, operation, params, request, error, started)
        response = web.Response(status=wire.status, headers=wire.headers, body=wire.body)
        if too_large:
            response.force_close()  # the unread rest of the body makes the connection unusable
        return response

    async def _refused(self, request: web.Request, exc: AwsError, scope: sigv4.Credential | None) -> None:
        """A request whose signature failed: log it (the access key id, never a secret),
        then wait as `mqlite.security.throttle` says for this client address."""
        key = scope.access_key if scope is not None else None
        log.info("aws %s: %s %s refused: %s (access key %r)", request.remote, request.method, request.path,
                 exc.code, key)
        delay = throttle.for_server(self.core).failed(request.remote or "")
        if delay:
            await asyncio.sleep(delay)

    def _observe(self, fe: ServiceFrontend | None, operation: str, params: Any,
                 request: web.Request, error: str | None, started: float) -> None:
        service = fe.service.endpoint_prefix if fe is not None else "aws"
        # an unknown operation is a client's free text: one label for all of them
        action = operation if fe is not None and operation in fe.handlers else "unknown"
        self.observer.done(service, action, params, lambda: _peer(request), error, started)

    async def _stream(self, request: web.Request, stream: AwsStream, request_id: str) -> web.StreamResponse:
        """Send `stream`'s chunks as they come; stop when the client goes away."""
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": stream.content_type, "x-amzn-RequestId": request_id,
                     **dict(stream.headers)},
        )
        body = stream.body
        try:
            await response.prepare(request)
            async for chunk in body:
                if request.transport is None or request.transport.is_closing():
                    break
                await response.write(chunk)
            else:
                await response.write_eof()
                return response
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away: nothing more to say
        except Exception:
            log.exception("AWS streamed response failed (request id %s)", request_id)
        finally:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()
        response.force_close()  # the body ended early: the connection cannot be reused
        return response

    async def _read_body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None:
            if length > MAX_REQUEST_BYTES:
                raise AwsError("RequestEntityTooLarge", "Request body too large", 413)
            try:
                return await request.content.readexactly(length) if length else b""
            except asyncio.IncompleteReadError:
                raise AwsError("IncompleteBody", "The request body is shorter than Content-Length", 400) from None
        chunks = []
        size = 0
        async for chunk in request.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > MAX_REQUEST_BYTES:
                raise AwsError("RequestEntityTooLarge", "Request body too large", 413)
            chunks.append(chunk)
        return b"".join(chunks)


CBOR_CONTENT_PREFIX = "application/x-amz-cbor-"  # = wire.cbor.CBOR_CONTENT_PREFIX


def _cbor() -> ModuleType:
    """The CBOR codec (`wire/cbor.py`), imported on the first CBOR request: start-up
    does not pay for cbor2."""
    return importlib.import_module("mqlite.protocols.aws.wire.cbor")


def _encode_error(fe: ServiceFrontend | None, protocol: Protocol, exc: AwsError, request_id: str) -> WireResponse:
    if protocol is Protocol.CBOR:
        wire: WireResponse = _cbor().encode_cbor_error(fe.service if fe else None, exc, request_id)
        return wire
    return encode_error(fe.service if fe else None, protocol, exc, request_id)


def _peer(request: web.Request) -> Any:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return peer or request.remote


def mount(app: web.Application, core: BrokerCore, settings: Settings) -> None:
    """Add the AWS APIs (every service module found) to the server's aiohttp app."""
    aws = AwsApp(core, settings)
    # Everything except /_mqlite/*, whichever order the server mounts front-ends in.
    app.router.add_route("POST", r"/{tail:(?!_mqlite/).*}", aws.handle)
    app.router.add_route("GET", r"/{tail:(?!_mqlite/).*}", aws.handle)

    async def cleanup(_: web.Application) -> None:
        for fe in aws.frontends:
            if fe.close is not None:
                await fe.close()

    app.on_cleanup.append(cleanup)


def _raise_if_storage_failure(core: BrokerCore, exc: BaseException) -> None:
    """A write failed on storage (disk full, I/O error): AWS's 503 for a temporary
    server-side failure, and the broker's disk alarm (`core/alarms.py`)."""
    if alarms.note_failure(core, exc) is not None:
        raise AwsError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                       503, sender=False) from exc
