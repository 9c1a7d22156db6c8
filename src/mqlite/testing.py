"""Test support: a real mqlite server on free ports, in-process or as a child process.

A pytest plugin, installed with mqlite (the `pytest11` entry point `mqlite.testing`, so
it loads by itself; `-p mqlite.testing` names it explicitly, `-p no:mqlite.testing`
turns it off). For application tests (documented in README "Testing with pytest"):

- `mqlite_fresh`: ONE in-memory server per test session, reset (everything deleted, in
  place, same ports) before each test that uses it: fast isolation for whole suites.
- `mqlite_env`: `mqlite_fresh` plus the environment clients read: `AWS_ENDPOINT_URL`, dummy
  AWS credentials and region, `KAFKA_BOOTSTRAP_SERVERS`, `AMQP_URL`, `REDIS_URL`
  (restored after the test); returns the variables.
- `mqlite_broker`: an embedded in-memory `mqlite.Broker` (no sockets), closed after.
- `mqlite_clock`: a `ManualClock` (pass it to `mqlite_server_factory(clock=...)` or
  `mqlite.Broker(clock=...)`), so expiries and schedules run without sleeping.

And for mqlite's own suite:

- `mqlite_server`: a server on a background thread with its own event loop, all ports
  free (`0`), data in a temporary directory, fsync `never` (tests that need
  durability pass `fsync="always"` to the factory). Yields a `ServerHandle`.
- `mqlite_server_factory(clock=None, **settings)`: make more, with `Settings` overrides
  and optionally an injected clock (`ManualClock` for schedules and expiries without
  sleeping); all are stopped at teardown.

`spawn_server(data_dir, *flags)` starts `mqlite serve` as a child process and parses
its "mqlite ready" log line for the ports: for crash (SIGKILL) and CLI tests.
Nothing here mocks a protocol: clients dial real sockets.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mqlite.settings import Settings


class ServerHandle:
    """A running in-process server; see module docstring."""

    def __init__(self, settings: Settings, clock: Any = None) -> None:
        self.settings = settings
        self.clock = clock  # a mqlite.core.clock.Clock; None = the system clock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: Any = None
        self._thread: threading.Thread | None = None
        self.start()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        from mqlite.server import new_event_loop, start_server

        ready: Future[Any] = Future()
        loop = new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self.server = loop.run_until_complete(start_server(self.settings, self.clock))
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread, then end
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self.loop = loop
        self._thread = threading.Thread(target=run, name="mqlite-test-server", daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        # Pin the ports, so restart() comes back where clients expect it.
        ports = self.server.ports
        self.settings = self.settings.replace(
            **{
                f"{name}_port": ports.get(name)
                for name in ("http", "kafka", "amqp", "redis", "mqtt", "stomp")
                if getattr(self.settings, f"{name}_port") is not None
            }
        )

    def stop(self, *, graceful: bool = True) -> None:
        if self.loop is None or self._thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self.server.stop(graceful=graceful), self.loop)
        try:
            fut.result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=30)
            self.loop = None
            self._thread = None

    def restart(self) -> None:
        """Stop cleanly, then start again on the same data directory and ports."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """Stop without a graceful goodbye to clients (connections aborted)."""
        self.stop(graceful=False)

    # -- access -----------------------------------------------------------------------
    def call(self, fn: Callable[[], Any] | Awaitable[Any], timeout: float = 30) -> Any:
        """Run a coroutine (or a callable returning one or a value) on the server loop."""
        assert self.loop is not None, "server is not running"

        async def runner() -> Any:
            result = fn() if callable(fn) else fn
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    @property
    def core(self) -> Any:
        return self.server.core

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def data_dir(self) -> Path | None:
        return self.settings.data_dir

    def _port(self, name: str) -> int:
        port = self.server.ports.get(name)
        if port is None:
            raise RuntimeError(f"the {name} front-end is not running")
        return int(port)

    @property
    def http_port(self) -> int:
        return self._port("http")

    @property
    def kafka_port(self) -> int:
        return self._port("kafka")

    @property
    def amqp_port(self) -> int:
        return self._port("amqp")

    @property
    def stomp_port(self) -> int:
        return self._port("stomp")

    @property
    def redis_port(self) -> int:
        return self._port("redis")

    @property
    def mqtt_port(self) -> int:
        return self._port("mqtt")

    @property
    def endpoint_url(self) -> str:
        scheme = "https" if self.settings.tls or self.settings.tls_cert else "http"
        return f"{scheme}://{self.host}:{self.http_port}"

    @property
    def tls_ca_file(self) -> Path:
        """The CA a client trusts for this server's `--tls auto` certificate."""
        assert self.settings.data_dir is not None, "--tls auto with --memory keeps its CA in a temp dir"
        return self.settings.data_dir / "tls" / "ca.pem"


def test_settings(data_dir: Path | None, **overrides: Any) -> Settings:
    """Settings for a test server: loopback, free ports, fsync never."""
    base = Settings(
        data_dir=data_dir,
        fsync="never",
        host="127.0.0.1",
        http_port=0,
        kafka_port=0,
        amqp_port=0,
        redis_port=0,
        mqtt_port=0,
        stomp_port=0,
    )
    return base.replace(**overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test function


@pytest.fixture
def mqlite_server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerHandle]]:
    handles: list[ServerHandle] = []
    counter = iter(range(1_000_000))

    def make(clock: Any = None, **overrides: Any) -> ServerHandle:
        data_dir = overrides.pop("data_dir", tmp_path / f"data{next(counter)}")
        handle = ServerHandle(test_settings(data_dir, **overrides), clock)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.stop()


@pytest.fixture
def mqlite_server(mqlite_server_factory: Callable[..., ServerHandle]) -> ServerHandle:
    return mqlite_server_factory()


# -- application-test fixtures (see module docstring) ---------------------------------------
@pytest.fixture(scope="session")
def mqlite_session_server() -> Iterator[ServerHandle]:
    """The one in-memory server of the session behind `mqlite_fresh` and `mqlite_env`."""
    handle = ServerHandle(test_settings(None))
    yield handle
    handle.stop()


@pytest.fixture
def mqlite_fresh(mqlite_session_server: ServerHandle) -> ServerHandle:
    """The session's server, reset before this test."""
    from mqlite.core.reset import reset

    mqlite_session_server.call(lambda: reset(mqlite_session_server.core))
    return mqlite_session_server


def client_env(server: ServerHandle) -> dict[str, str]:
    """The environment variables that point clients at `server`."""
    host = server.host
    return {
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": server.settings.aws_region,
        "AWS_REGION": server.settings.aws_region,
        "KAFKA_BOOTSTRAP_SERVERS": f"{host}:{server.kafka_port}",
        "AMQP_URL": f"amqp://guest:guest@{host}:{server.amqp_port}/%2F",
        "REDIS_URL": f"redis://{host}:{server.redis_port}/0",
    }


@pytest.fixture
def mqlite_env(mqlite_fresh: ServerHandle, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = client_env(mqlite_fresh)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def mqlite_clock() -> Any:
    from mqlite.core.clock import ManualClock

    return ManualClock()


@pytest.fixture
def mqlite_broker() -> Iterator[Any]:
    import mqlite as package

    broker = package.Broker()
    yield broker
    broker.close()


# -- child processes --------------------------------------------------------------------
READY = re.compile(r"mqlite ready: (?P<ports>[^(]*)\(")


@dataclass
class ServerProcess:
    """A `mqlite serve` child process and the ports it reported."""

    process: subprocess.Popen[str]
    ports: dict[str, int]
    log_lines: list[str]
    log_file: Any = None

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        if self.log_file is None:
            return "\n".join(self.log_lines)
        self.log_file.seek(0)
        return str(self.log_file.read())

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def spawn_server(
    data_dir: Path | None, *flags: str, timeout: float = 30, rlimit_nofile: tuple[int, int] | None = None
) -> ServerProcess:
    """Start `mqlite serve` with every port free unless `flags` say otherwise;
    `rlimit_nofile` = (soft, hard) descriptor limits for the child."""
    args = [sys.executable, "-m", "mqlite.cli", "serve", "--host", "127.0.0.1"]
    args += ["--memory"] if data_dir is None else ["--data-dir", str(data_dir)]
    for name in ("http", "kafka", "amqp", "redis", "mqtt", "stomp"):
        if f"--{name}-port" not in flags:
            args += [f"--{name}-port", "0"]
    args += list(flags)
    log_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - outlives this call, read by polling
    def limit_descriptors() -> None:
        import resource

        assert rlimit_nofile is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, rlimit_nofile)

    process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=limit_descriptors if rlimit_nofile else None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log_file.seek(0)
        lines = log_file.read().splitlines()
        for line in lines:
            match = READY.search(line)
            if match:
                ports = dict(item.split("=") for item in match["ports"].split())
                return ServerProcess(process, {k: int(v) for k, v in ports.items()}, lines, log_file)
        if process.poll() is not None:
            raise RuntimeError("mqlite serve exited early:\n" + "\n".join(lines))
        time.sleep(0.05)
    process.kill()
    raise TimeoutError("mqlite serve did not report ready")


class HttpEndpoint:
    """An aiohttp application served on 127.0.0.1 (a free port) by its own thread and
    event loop: the webhook, Lambda or API-destination endpoint a test points mqlite at.

        endpoint = HttpEndpoint(app)    # serving when this returns
        endpoint.url                    # "http://127.0.0.1:<port>"
        endpoint.close()
    """

    def __init__(self, app: Any) -> None:
        from aiohttp import web

        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner = web.AppRunner(app, access_log=None)
        started = threading.Event()

        async def start() -> None:
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            started.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="mqlite-test-http", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the test HTTP endpoint did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# -- helpers for fault tests ------------------------------------------------------------
def wait_until(predicate: Callable[[], Any], what: str, limit: float = 20.0) -> None:
    """Poll until `predicate()` is true; the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """`mount_tmpfs(mib)` -> a fresh tmpfs of that size (a disk that really fills);
    skips the test where mounting is not permitted (not root, no mount)."""
    mounted: list[Path] = []

    def mount(mib: int) -> Path:
        mnt = tmp_path / f"tmpfs{len(mounted)}"
        mnt.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(mnt)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
