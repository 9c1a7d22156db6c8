"""HTTP delivery for bindings to URLs: retries with backoff, bounded concurrency,
failures to the dead-letter route (SNS HTTP/S delivery retry policy; EventBridge API
destinations). Tests run a real aiohttp server on an ephemeral port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.http_delivery import HttpDelivery
from mqlite.core.message import Envelope
from mqlite.core.router import Destination

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scripted(statuses: list[int], seen: list[dict[str, Any]]) -> Handler:
    async def handle(req: web.Request) -> web.Response:
        seen.append({"body": await req.read(), "headers": dict(req.headers), "method": req.method})
        status = statuses.pop(0) if statuses else 200
        return web.Response(status=status)

    return handle


def test_successful_delivery_posts_body_and_headers() -> None:
    async def main() -> None:
        seen: list[dict[str, Any]] = []
        async with server(scripted([], seen)) as url:
            http = HttpDelivery(sleep=_no_sleep)
            failures: list[str] = []
            assert http.submit(url, Envelope(b"hello"), {"headers": {"x-amz-sns-message-type": "Notification"},
                                                        "content_type": "application/json"},
                               on_failure=_collect(failures))
            await http.drain()
            await http.close()
        assert seen[0]["body"] == b"hello" and seen[0]["method"] == "POST"
        assert seen[0]["headers"]["x-amz-sns-message-type"] == "Notification"
        assert seen[0]["headers"]["Content-Type"] == "application/json"
        assert http.delivered == 1 and failures == []

    asyncio.run(main())


def test_server_errors_are_retried_with_exponential_backoff() -> None:
    async def main() -> None:
        seen: list[dict[str, Any]] = []
        sleeps: list[float] = []

        async def record_sleep(d: float) -> None:
            sleeps.append(d)

        async with server(scripted([500, 429, 200], seen)) as url:
            http = HttpDelivery(sleep=record_sleep)
            http.submit(url, Envelope(b"x"), {"max_attempts": 5, "base_backoff": 0.5, "max_backoff": 0.8})
            await http.drain()
            await http.close()
        assert len(seen) == 3 and http.delivered == 1 and http.retries == 2
        assert sleeps == [0.5, 0.8]  # 0.5 * 2^0, then capped at max_backoff

    asyncio.run(main())


def test_client_errors_fail_at_once_without_retry() -> None:
    async def main() -> None:
        seen: list[dict[str, Any]] = []
        failures: list[str] = []
        async with server(scripted([404], seen)) as url:
            http = HttpDelivery(sleep=_no_sleep)
            http.submit(url, Envelope(b"x"), {"max_attempts": 5}, on_failure=_collect(failures))
            await http.drain()
            await http.close()
        assert len(seen) == 1 and http.failed == 1
        assert failures == ["http delivery failed after 1 attempt(s): HTTP 404"]

    asyncio.run(main())


def test_unreachable_endpoint_exhausts_attempts_then_reports_failure() -> None:
    async def main() -> None:
        failures: list[str] = []
        http = HttpDelivery(sleep=_no_sleep)
        http.submit(f"http://127.0.0.1:{free_port()}/", Envelope(b"x"), {"max_attempts": 3},
                    on_failure=_collect(failures))
        await http.drain()
        await http.close()
        assert http.retries == 2 and len(failures) == 1
        assert failures[0].startswith("http delivery failed after 3 attempt(s): ClientConnectorError")

    asyncio.run(main())


def test_concurrency_is_bounded_and_backlog_is_capped() -> None:
    async def main() -> None:
        release = asyncio.Event()
        arrived: list[int] = []

        async def slow(req: web.Request) -> web.Response:
            arrived.append(1)
            await release.wait()
            return web.Response(status=200)

        async with server(slow) as url:
            http = HttpDelivery(max_concurrency=3, max_pending=8, sleep=_no_sleep)
            failures: list[str] = []
            accepted = [http.submit(url, Envelope(b"%d" % i), on_failure=_collect(failures))
                        for i in range(10)]
            assert accepted == [True] * 8 + [False] * 2
            for _ in range(100):
                if len(arrived) == 3:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            assert len(arrived) == 3 and http.in_flight == 3
            release.set()
            await http.drain()
            await http.close()
        assert http.delivered == 8 and http.max_in_flight_seen == 3
        assert failures == ["http backlog full", "http backlog full"]

    asyncio.run(main())


def test_router_http_binding_dead_letters_after_retries() -> None:
    """A binding to a URL: delivered in the background; final failure -> dead letter."""

    async def main() -> None:
        seen: list[dict[str, Any]] = []
        core = await BrokerCore.open(None, CONFIG)
        core.create_queue("dlq")
        async with server(scripted([503, 503, 503, 200], seen)) as url:
            topic = core.create_router("t", "sns", {"dead_letter": Destination.queue("dlq").to_json()})
            topic.bind(Destination.http(url), "fanout", None, {"http": {"max_attempts": 2, "base_backoff": 0}})
            r = await topic.publish(Envelope(b'{"m":1}'))
            assert r.routed == 1  # accepted for delivery
            await core.routers.http.drain()
            r = await topic.publish(Envelope(b"second"))
            await core.routers.http.drain()
        msgs = await core.get_queue("dlq").receive(max_messages=10)
        assert [m.body for m in msgs] == [b'{"m":1}']
        assert msgs[0].meta["mqlite.dlq.reason"].startswith(b"http delivery failed after 2 attempt(s): HTTP 503")
        assert [s["body"] for s in seen] == [b'{"m":1}', b'{"m":1}', b"second", b"second"]
        await core.close()

    asyncio.run(main())


async def _no_sleep(_: float) -> None:
    return None


def _collect(out: list[str]) -> Callable[[Envelope, str], Awaitable[None]]:
    async def on_failure(env: Envelope, reason: str) -> None:
        out.append(reason)

    return on_failure


def test_rate_limit_spaces_requests_to_one_url() -> None:
    """rate_per_second (EventBridge API destinations' invocation rate limit)."""

    async def main() -> None:
        seen: list[dict[str, Any]] = []
        sleeps: list[float] = []

        async def record_sleep(d: float) -> None:
            sleeps.append(round(d, 6))

        async with server(scripted([], seen)) as url:
            http = HttpDelivery(ManualClock(), sleep=record_sleep)
            for i in range(4):
                http.submit(url, Envelope(b"%d" % i), {"rate_per_second": 2})
            await http.drain()
            await http.close()
        assert len(seen) == 4
        assert sleeps == [0.5, 1.0, 1.5]  # the clock stands still: slots 0, .5, 1, 1.5

    asyncio.run(main())
