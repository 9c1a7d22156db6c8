"""The admin API (`/_mqlite/api/`), reset (`/_mqlite/reset`, moto's and LocalStack's
reset paths) and LocalStack's health path, on the server's HTTP port.

`mount(app, core, settings, connections)` adds every route of `ROUTES` (typed: see
`openapi.py`; the document is served at `/_mqlite/api/openapi.json`) and the reset and
compatibility endpoints. Every route but the OpenAPI document and LocalStack's health
goes through `auth.require_admin`. Errors are RFC 9457 problem documents (`problems.py`).

Routes (kinds: queues, streams, routers, groups):
    GET    /_mqlite/api/entities                 every entity, one row each
    GET    /_mqlite/api/{kind}                   list one kind
    POST   /_mqlite/api/{kind}                   create (queues, streams, routers)
    GET    /_mqlite/api/{kind}/{name}            describe
    DELETE /_mqlite/api/{kind}/{name}            delete
    POST   /_mqlite/api/{kind}/{name}/purge      purge (queues, streams)
    GET    /_mqlite/api/{kind}/{name}/messages   peek: no state changes
    POST   /_mqlite/api/{kind}/{name}/messages   publish one or a batch
    GET    /_mqlite/api/connections, /_mqlite/api/stats
    GET    /_mqlite/api/overview, /_mqlite/api/graph   the console's overview and flow graph
    POST   /_mqlite/api/reset, /_mqlite/reset    reset (body or ?scope=)
    POST   /moto-api/reset                        moto's reset: {"status": "ok"}
    POST   /_localstack/state/reset, /_localstack/state/{service}/reset
    GET    /_localstack/health                    LocalStack's health shape
Concurrency: handlers run on the server's event loop.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

import mqlite
from mqlite.core import reset as core_reset
from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.http.admin import insight, ops, views
from mqlite.protocols.http.admin import models as M
from mqlite.protocols.http.admin.auth import require_admin
from mqlite.protocols.http.admin.openapi import Route, decode, decode_query, document
from mqlite.protocols.http.admin.problems import Problem, from_core
from mqlite.settings import Settings

log = logging.getLogger("mqlite.admin")

API = "/_mqlite/api"
KINDS = ("queues", "streams", "routers", "groups")
CREATE_TYPES: dict[str, type] = {"queues": M.CreateQueue, "streams": M.CreateStream,
                                 "routers": M.CreateRouter}
LOCALSTACK_SERVICES = {"sqs": "sqs", "sns": "sns", "kinesis": "kinesis", "firehose": "firehose",
                       "events": "events"}


def _json(value: Any, status: int = 200) -> web.Response:
    # orjson serialises dataclasses itself, ~10x faster than dataclasses.asdict
    return web.Response(status=status, body=orjson.dumps(value), content_type="application/json")


async def _body(request: web.Request, cls: type) -> Any:
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise Problem.invalid("body", f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    return decode(cls, data)


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise Problem(404, "Not found", f"unknown entity kind {kind!r}: one of {', '.join(KINDS)}",
                      "about:blank", "kind")
    return kind


class AdminApi:
    """The handlers; `ROUTES` below declares them with their types."""

    def __init__(self, core: BrokerCore, settings: Settings, connections: Callable[[], dict[str, int]],
                 ports: Callable[[], dict[str, int]] = dict) -> None:
        self.core = core
        self.settings = settings
        self.connections = connections
        self._aws_run: Any = None
        self.document: dict[str, Any] = {}  # the OpenAPI document, set by mount()
        self.ports = ports
        self.started = time.time()

    async def list_entities(self, request: web.Request) -> web.Response:
        return _json(views.listing(self.core, list(KINDS), request.query.get("prefix", "")))

    async def list_kind(self, request: web.Request) -> web.Response:
        return _json(views.listing(self.core, [_kind(request)], request.query.get("prefix", "")))

    async def create_entity(self, request: web.Request) -> web.Response:
        kind = _kind(request)
        if kind not in CREATE_TYPES:
            raise Problem.invalid("kind", f"{kind} cannot be created through the admin API")
        req = await _body(request, CREATE_TYPES[kind])
        return _json(ops.create(self.core, kind, req), 201)

    async def describe_entity(self, request: web.Request) -> web.Response:
        return _json(views.describe(self.core, _kind(request), request.match_info["name"]))

    async def delete_entity(self, request: web.Request) -> web.Response:
        return _json(ops.delete(self.core, _kind(request), request.match_info["name"]))

    async def purge_entity(self, request: web.Request) -> web.Response:
        return _json(ops.purge(self.core, _kind(request), request.match_info["name"]))

    async def peek_messages(self, request: web.Request) -> web.Response:
        q = decode_query(M.PeekQuery, request.query)
        return _json(views.peek(self.core, _kind(request), request.match_info["name"], q))

    async def publish_messages(self, request: web.Request) -> web.Response:
        kind, name = _kind(request), request.match_info["name"]
        raw = await request.read()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Problem.invalid("body", f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
        if isinstance(data, dict) and "messages" in data:
            reqs = decode(M.PublishBatch, data).messages
            return _json(M.PublishBatchResult(await ops.publish(self.core, kind, name, reqs, self._aws())), 201)
        result = await ops.publish(self.core, kind, name, [decode(M.PublishRequest, data)], self._aws())
        return _json(result[0], 201)

    def _aws(self) -> Any:
        """The AWS handlers (SNS Publish), as provisioning calls them; made once."""
        if self._aws_run is None:
            from mqlite.protocols.provision.apply import Run

            self._aws_run = Run(self.core, self.settings, "admin API")
        return self._aws_run

    async def commit_offset(self, request: web.Request) -> web.Response:
        req = await _body(request, M.CommitOffset)
        stream = views.find(self.core, "streams", req.stream)
        if not 0 <= req.partition < stream.partition_count:
            raise Problem.invalid("body.partition", f"must be between 0 and {stream.partition_count - 1}")
        if req.offset < 0:
            raise Problem.invalid("body.offset", "must be 0 or more")
        group = self.core.groups.get(request.match_info["name"])
        group.commit(req.stream, req.partition, req.offset)
        return _json(views.group_info(self.core, group))

    async def export_topology(self, request: web.Request) -> web.Response:
        from mqlite.protocols.provision.export import export

        return _json(await export(self.core, self.settings))

    async def import_topology(self, request: web.Request) -> web.Response:
        from mqlite.protocols.provision.apply import apply
        from mqlite.protocols.provision.loader import ProvisionError, from_rabbit, is_rabbit, parse

        raw = await request.read()
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Problem.invalid("body", f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(doc, dict):
            raise Problem.invalid("body", "must be a JSON object")
        try:
            topo = parse(from_rabbit(doc) if is_rabbit(doc) else doc, "body")
            counts = await apply(self.core, self.settings, topo, "body")
        except ProvisionError as exc:
            raise Problem(400, "Invalid topology", str(exc), "about:blank") from None
        return _json(M.ImportResult(counts))

    async def list_connections(self, request: web.Request) -> web.Response:
        return _json([M.ConnectionInfo(p, n) for p, n in sorted(self.connections().items())])

    async def stats(self, request: web.Request) -> web.Response:
        core = self.core
        entities = views.listing(core, list(KINDS)).items
        streams = [core.streams.get(n) for n in core.list_streams()]
        return _json(M.Stats(
            time_ms=int(time.time() * 1000), queues=len(core.list_queues()),
            streams=len(streams), routers=len(core.list_routers()), groups=len(core.groups.list()),
            messages_in_queues=sum(e.depth for e in entities if e.kind == "queue"),
            messages_in_streams=sum(e.depth for e in entities if e.kind == "stream"),
            bytes_in_streams=sum(s.size_bytes() for s in streams),
            connections=self.connections()))

    async def overview(self, request: web.Request) -> web.Response:
        return _json(insight.overview(self.core, self.settings, self.ports(), self.connections(), self.started))

    async def graph(self, request: web.Request) -> web.Response:
        return _json(insight.graph(self.core))

    async def reset(self, request: web.Request) -> web.Response:
        req = await _body(request, M.ResetRequest)
        scope = request.query.get("scope", req.scope)
        return _json(await self._reset(scope))

    async def _reset(self, scope: str | None) -> M.ResetReply:
        try:
            result = await core_reset.reset(self.core, scope)
        except MqliteError as exc:
            raise from_core(exc) from None
        log.info("reset (%s): %s in %.1f ms", result.scope, result.deleted, result.duration_ms)
        return M.ResetReply(result.scope, result.deleted, round(result.duration_ms, 3))

    # -- compatibility -----------------------------------------------------------------
    async def moto_reset(self, request: web.Request) -> web.Response:
        await self._reset("all")
        return _json({"status": "ok"})

    async def localstack_reset(self, request: web.Request) -> web.Response:
        service = request.match_info.get("service")
        if service is not None and service not in LOCALSTACK_SERVICES:
            return web.Response(status=200)  # LocalStack ignores services it does not run
        await self._reset(LOCALSTACK_SERVICES.get(service or "", "all"))
        return web.Response(status=200)

    async def localstack_health(self, request: web.Request) -> web.Response:
        return _json({"services": {s: "running" for s in LOCALSTACK_SERVICES}, "edition": "community",
                      "version": mqlite.__version__})

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(self.document)


def routes(api: AdminApi) -> list[Route]:
    kp, knp = ("kind",), ("kind", "name")
    entity = f"{API}/{{kind}}/{{name}}"
    return [
        Route("GET", f"{API}/entities", "List every entity, one row each", api.list_entities,
              response=M.EntityList, errors=()),
        Route("GET", f"{API}/connections", "Open connections per protocol", api.list_connections,
              tag="server", response=list[M.ConnectionInfo], errors=()),
        Route("GET", f"{API}/stats", "Totals now (sample twice for rates)", api.stats, tag="server",
              response=M.Stats, errors=()),
        Route("GET", f"{API}/overview", "The server at a glance: listeners, uptime, totals, alarms",
              api.overview, tag="server", response=M.Overview, errors=()),
        Route("GET", f"{API}/graph", "Where messages flow: bindings, subscriptions, rule targets, "
              "dead-letter routes, groups", api.graph, response=M.Graph, errors=()),
        Route("POST", f"{API}/reset", "Delete all state, or one kind's or one service's", api.reset,
              tag="server", body=M.ResetRequest, response=M.ResetReply, errors=(400,)),
        Route("GET", f"{API}/topology", "The topology in the --init format (mqlite export)",
              api.export_topology, tag="provisioning", response=dict[str, Any], errors=()),
        Route("POST", f"{API}/topology", "Apply a topology (the --init format or RabbitMQ definitions), "
              "all or nothing", api.import_topology, tag="provisioning", body=dict[str, Any],
              response=M.ImportResult, errors=(400,)),
        Route("POST", f"{API}/groups/{{name}}/offsets", "Commit a group's offset in one partition",
              api.commit_offset, body=M.CommitOffset, response=M.GroupInfo, path_params=("name",)),
        Route("GET", f"{API}/{{kind}}", "List the entities of one kind", api.list_kind,
              response=M.EntityList, path_params=kp),
        Route("POST", f"{API}/{{kind}}", "Create a queue, stream or SNS topic", api.create_entity,
              body=M.CreateQueue | M.CreateStream | M.CreateRouter,  # type: ignore[arg-type]
              response=M.QueueInfo | M.StreamInfo | M.RouterInfo, status=201, errors=(400, 404, 409),
              path_params=kp),
        Route("GET", entity, "Describe one entity", api.describe_entity,
              response=M.QueueInfo | M.StreamInfo | M.RouterInfo | M.GroupInfo, path_params=knp),
        Route("DELETE", entity, "Delete one entity and its data", api.delete_entity,
              response=M.DeleteResult, path_params=knp),
        Route("POST", f"{entity}/purge", "Delete every message (queues, streams)", api.purge_entity,
              response=M.PurgeResult, path_params=knp),
        Route("GET", f"{entity}/messages", "Peek at messages without changing their state",
              api.peek_messages, query=M.PeekQuery, response=M.MessageList, path_params=knp),
        Route("POST", f"{entity}/messages", "Publish one message, or a batch ({messages: [...]})",
              api.publish_messages, body=M.PublishRequest | M.PublishBatch,  # type: ignore[arg-type]
              response=M.PublishResult | M.PublishBatchResult, status=201, path_params=knp),
    ]


def mount(app: web.Application, core: BrokerCore, settings: Settings,
          connections: Callable[[], dict[str, int]] = dict,
          ports: Callable[[], dict[str, int]] = dict) -> None:
    """Add the admin API, reset and compatibility routes to the server's aiohttp app;
    `ports()` maps each listening protocol to its port."""
    api = AdminApi(core, settings, connections, ports)
    table = routes(api)
    api.document = document(table, mqlite.__version__)
    open_paths = {f"{API}/openapi.json", "/_localstack/health"}

    def guarded(handler: Any) -> Any:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                if request.path not in open_paths:
                    require_admin(request, settings)
                return await handler(request)  # type: ignore[no-any-return]
            except Problem as problem:
                return problem.response(request.path)
            except MqliteError as exc:
                return from_core(exc).response(request.path)
        run.__name__ = handler.__name__
        return run

    app.router.add_get(f"{API}/openapi.json", guarded(api.openapi))
    for r in table:
        app.router.add_route(r.method, r.path, guarded(r.handler))
    app.router.add_post("/_mqlite/reset", guarded(api.reset))
    app.router.add_post("/moto-api/reset", guarded(api.moto_reset))
    app.router.add_post("/_localstack/state/reset", guarded(api.localstack_reset))
    app.router.add_post("/_localstack/state/{service}/reset", guarded(api.localstack_reset))
    app.router.add_get("/_localstack/health", guarded(api.localstack_health))
