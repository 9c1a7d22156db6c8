"""`mqlite serve`: one event loop, one BrokerCore, every listener; clean shutdown.

Owns process lifecycle: build the core from `Settings`, start the HTTP listener (the
native `/_mqlite/*` API and the AWS APIs on one aiohttp app) and the TCP front-ends
(Kafka, AMQP, Redis), log each address, and on SIGTERM/SIGINT stop accepting, close
connections, flush and fsync the logs and close the catalog. A second signal exits at
once. Front-ends are imported lazily by name, so a front-end that is not installed or
not built yet is skipped with a log line, not a crash.

Concurrency: everything runs on the loop that calls `start_server`; `run()` makes that
loop (uvloop when available) and blocks until shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mqlite.core.api import BrokerCore
from mqlite.core.clock import Clock
from mqlite.preflight import check_data_dir, check_port
from mqlite.readiness import READY, STOPPING, Readiness
from mqlite.server_signals import EarlySignals
from mqlite.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

log = logging.getLogger("mqlite.server")

# name -> (settings field with the port, module exposing `start(core, settings, host, port)`)
TCP_FRONTENDS = {
    "kafka": ("kafka_port", "mqlite.protocols.kafka.server"),
    "amqp": ("amqp_port", "mqlite.protocols.amqp.server"),
    "redis": ("redis_port", "mqlite.protocols.resp.server"),
    "mqtt": ("mqtt_port", "mqlite.protocols.mqtt.server"),
    "stomp": ("stomp_port", "mqlite.protocols.stomp.server"),  # after amqp: shares its broker
}
# HTTP front-ends: modules exposing `mount(app, core, settings)`.
HTTP_FRONTENDS = ("mqlite.protocols.aws.app", "mqlite.protocols.aws.sns.routes")
HTTP_MAX_BODY = 64 * 1024 * 1024  # AWS front-ends enforce their own, smaller limits


@dataclass
class RunningServer:
    """A started server: its settings, core, readiness and the actual bound ports."""

    settings: Settings
    core: BrokerCore
    readiness: Readiness
    ports: dict[str, int] = field(default_factory=dict)
    _listeners: list[Any] = field(default_factory=list)
    _http_runners: list[web.AppRunner] = field(default_factory=list)  # aiohttp only when HTTP is on
    _stopped: bool = False

    async def stop(self, *, graceful: bool = True) -> None:
        """Stop accepting, close connections, then flush and close the core."""
        if self._stopped:
            return
        self._stopped = True
        self.readiness.phase = STOPPING
        for listener in self._listeners:
            if not graceful:
                for conn in list(listener.registry.connections):
                    conn.abort()
            await listener.close()
        for runner in reversed(self._http_runners):
            await runner.cleanup()
        if self.core is not None:
            await self.core.close()
        log.info("mqlite stopped")


def _core_config(settings: Settings) -> Any:
    from mqlite.core.config import CoreConfig, StreamConfig
    from mqlite.transforms import STANDARD

    defaults = StreamConfig(retention_ms=settings.retention_ms, retention_bytes=settings.retention_bytes,
                            segment_bytes=settings.segment_bytes, segment_ms=settings.segment_ms,
                            max_message_bytes=settings.max_message_bytes)
    return CoreConfig(fsync=settings.fsync, stream_defaults=defaults, stream_tail_cache_bytes=settings.tail_cache_bytes,
                      disk_free_limit=settings.amqp_disk_free_limit, memory_limit=settings.amqp_memory_limit,
                      transforms=STANDARD, http_destinations=settings.http_destinations)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _import_frontend(module: str) -> Any | None:
    """Import a front-end; one that is absent or broken is logged and skipped, so the
    other protocols still serve (its clients see a refused port, and the log says why)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            log.warning("front-end %s is not available; skipped", module)
            return None
        log.exception("front-end %s failed to import; skipped", module)
    except Exception:
        log.exception("front-end %s failed to import; skipped", module)
    return None


def enabled_ports(settings: Settings) -> dict[str, int]:
    """Front-end name -> configured port (0 = any), for every enabled front-end."""
    ports = {"http": settings.http_port}
    ports.update({name: getattr(settings, port_field) for name, (port_field, _) in TCP_FRONTENDS.items()})
    return {name: port for name, port in ports.items() if port is not None}


def preflight(settings: Settings) -> None:
    """Fail fast, in one line, on a held port or an unusable data directory."""
    for name, port in enabled_ports(settings).items():
        check_port(name, f"--{name}-port", settings.host, port)
    if settings.data_dir is not None:
        check_data_dir(settings.data_dir)


async def start_server(settings: Settings, clock: Clock | None = None, *, checked: bool = False) -> RunningServer:
    """Open the core and start every enabled listener on the running loop.

    Order: checks, then the HTTP port answering 503 "starting", then recovery (the
    core), then the TCP listeners, then the full HTTP app; only then "mqlite ready"."""
    from mqlite.core.broker import BrokerCore
    from mqlite.protocols.connection_guard import raise_fd_limit
    from mqlite.security import startup

    settings = startup.prepare(settings)  # users file read, TLS files checked, no open network server (idempotent)
    if not checked:
        preflight(settings)
    raise_fd_limit()
    readiness = Readiness(settings.host, enabled_ports(settings))
    # the core is set once it has opened (below); until then stop() skips it
    server = RunningServer(settings=settings, core=None, readiness=readiness)  # type: ignore[arg-type]
    try:
        http_sock = None
        if settings.http_port is not None:
            http_sock = _bind(settings.host, settings.http_port)
            server.ports["http"] = http_sock.getsockname()[1]
            await _serve_starting(server, http_sock)
        server.core = await BrokerCore.open(settings.data_dir, _core_config(settings), clock or Clock())
        readiness.core_open = True
        readiness.resources = server.core.resources
        for name, (port_field, module_name) in TCP_FRONTENDS.items():
            port = getattr(settings, port_field)
            if port is None:
                continue
            module = _import_frontend(module_name)
            if module is None:
                continue
            listener = await module.start(server.core, settings, settings.host, port)
            server._listeners.append(listener)
            server.ports[name] = listener.port
            readiness.listener_ready(name, listener.port)
        if http_sock is not None:
            await _start_http(server, http_sock)
        if settings.init is not None:  # imported only when asked: it pulls in the admin API's codecs
            await importlib.import_module("mqlite.protocols.provision").apply_init(server.core, settings)
    except BaseException:
        await server.stop(graceful=False)
        raise
    readiness.phase = READY
    for line in startup.auth_lines(settings, server.ports):
        log.info("%s", line)
    where = "memory" if settings.data_dir is None else str(settings.data_dir)
    ports = " ".join(f"{name}={port}" for name, port in server.ports.items())
    log.info("outbound HTTP destinations: %s", server.core.config.destination_policy.describe())
    log.info("mqlite ready: %s (data: %s, fsync: %s)", ports, where, settings.fsync)
    return server


def _describe(server: RunningServer) -> Callable[[], dict[str, Any]]:
    settings = server.settings

    def describe() -> dict[str, Any]:
        return {
            "data_dir": None if settings.data_dir is None else str(settings.data_dir.resolve()),
            "memory": settings.data_dir is None,
        }

    return describe


async def _serve_starting(server: RunningServer, sock: socket.socket) -> None:
    """Answer on the HTTP port while recovery runs: health 503 with what is pending.
    Served on a duplicate of the socket, so closing it leaves the port listening for
    the full app (connections queue in the kernel meanwhile)."""
    from aiohttp import web

    from mqlite.protocols.http import health, tls_site
    from mqlite.security import tls

    runner = web.AppRunner(health.starting_app(server.readiness, _describe(server)),
                           access_log=None, handle_signals=False)
    await runner.setup()
    await tls_site.site(runner, sock.dup(), tls.server_context(server.settings), None).start()
    server._http_runners.append(runner)


async def _start_http(server: RunningServer, sock: socket.socket) -> None:
    # Imported here: with --http-port off, start-up skips aiohttp and prometheus-client.
    from aiohttp import web

    from mqlite.protocols import limits
    from mqlite.protocols.http import admin_guard, health, metrics, tls_site
    from mqlite.security import tls

    app = web.Application(client_max_size=HTTP_MAX_BODY)
    admin_guard.install(app, server.core, server.settings)

    def connections() -> dict[str, int]:
        return {lst.name: len(lst.registry.connections) for lst in server._listeners}

    health.mount(app, server.readiness, _describe(server))
    metrics.mount(app, server.core, connections, server.settings, lambda: list(server._listeners))
    importlib.import_module("mqlite.protocols.http.admin").mount(
        app, server.core, server.settings, connections, lambda: dict(server.ports))
    importlib.import_module("mqlite.protocols.http.console").mount(app, server.core, server.settings)
    for module_name in HTTP_FRONTENDS:
        module = _import_frontend(module_name)
        if module is not None:
            module.mount(app, server.core, server.settings)
    ssl_context = tls.server_context(server.settings)
    guard = limits.http_guard(server.core, server.settings)  # the TCP front-ends' connection caps
    if ssl_context is None:  # HTTP/2 (prior knowledge) beside HTTP/1.1 (#20): protocols/http/h2c.py
        from mqlite.protocols.http import h2c

        guard = h2c.wrap(guard, sock.getsockname())
        app.on_cleanup.append(h2c.closer(guard))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await tls_site.site(runner, sock, ssl_context, server.core, wrap=guard).start()
    starting = server._http_runners.pop()  # the 503 app: stop it once the full app serves
    await starting.cleanup()
    server._http_runners.append(runner)
    server.readiness.listener_ready("http", server.ports["http"])
    log.info("%s (AWS APIs, /_mqlite/) listening on %s:%d", "https" if ssl_context else "http",
             server.settings.host, server.ports["http"])


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux, macOS); asyncio's loop elsewhere."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tune_gc() -> None:
    """Move start-up objects out of the collector's sight and collect young objects
    less often: a broker allocates many short-lived acyclic objects per message, and
    the default gen-0 threshold (700) made the cyclic collector up to 40% of XADD time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)
    release_free_memory()


def release_free_memory() -> None:
    """Hand the heap pages start-up freed (module compilation, parsed service models)
    back to the OS: glibc keeps them otherwise, and idle RSS is what users see."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def run(settings: Settings, early_signal: Any = None) -> int:
    """Serve until SIGTERM/SIGINT; return the process exit code. Signals are caught
    from before start-up (`early_signal`, an `EarlySignals` made as early as the caller
    could), so one during recovery still stops cleanly."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            log.warning("second signal: exiting at once")
            os._exit(1)
        log.info("%s received: shutting down (send again to exit at once)", signal.Signals(signum).name)
        stop.set()

    async def main() -> None:
        # The loop's handlers only once it runs (uvloop drops a signal that arrives
        # between add_signal_handler and run); until then `early` records it.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        if early.received is not None:
            on_signal(early.received)
        starting = asyncio.ensure_future(start_server(settings, checked=True))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # a signal during start-up: start_server cleans up and logs
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return
        server = starting.result()
        tune_gc()
        await stopping
        await server.stop()

    early = early_signal if early_signal is not None else EarlySignals()
    from mqlite.security import startup

    settings = startup.prepare(settings)  # bad users file or TLS files, open network server: one line
    preflight(settings)  # a held port or an unusable data directory: one line, nothing logged
    log.info("mqlite %s starting (pid %d)", _version(), os.getpid())
    try:
        loop.run_until_complete(main())
    finally:
        _cancel_leftovers(loop)
        loop.close()
    return 0


def _version() -> str:
    import mqlite

    return mqlite.__version__


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await tasks still pending at exit, so none is reported destroyed."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
