"""HttpDelivery's outcome (awaitable DeliveryOutcome, on_success), explicit retry
schedules (`delays`) and per-message headers (`http.header.<name>` meta keys). Tests run
a real aiohttp server on an ephemeral port; sleeps are recorded, never waited."""

from __future__ import annotations

import asyncio
from typing import Any

from test_http_delivery_retries import free_port, scripted, server

from mqlite.core.http_delivery import DeliveryOutcome, HttpDelivery, retry_delays
from mqlite.core.message import Envelope


def test_deliver_returns_a_successful_outcome_and_calls_on_success() -> None:
    """A 2xx after one retry: ok, 2 attempts; on_success gets the envelope."""

    async def main() -> None:
        seen: list[dict[str, Any]] = []
        succeeded: list[bytes] = []

        async def on_success(env: Envelope) -> None:
            succeeded.append(env.body)

        async with server(scripted([503, 200], seen)) as url:
            http = HttpDelivery(sleep=_no_sleep)
            out = await http.deliver(url, Envelope(b"m"), {"max_attempts": 3}, on_success=on_success)
            await http.close()
        assert out == DeliveryOutcome(True, 2, "", 200)
        assert succeeded == [b"m"] and http.delivered == 1

    asyncio.run(main())


def test_deliver_reports_the_final_failure() -> None:
    """A client error fails at once: not ok, 1 attempt, the status and the reason."""

    async def main() -> None:
        async with server(scripted([400], [])) as url:
            http = HttpDelivery(sleep=_no_sleep)
            out = await http.deliver(url, Envelope(b"m"), {"max_attempts": 3})
            await http.close()
        assert out == DeliveryOutcome(False, 1, "HTTP 400", 400)

    asyncio.run(main())


def test_explicit_delays_set_the_retry_schedule() -> None:
    """options['delays']: one attempt plus one retry per delay, sleeping each delay."""

    async def main() -> None:
        sleeps: list[float] = []

        async def record(d: float) -> None:
            sleeps.append(d)

        http = HttpDelivery(sleep=record)
        out = await http.deliver(f"http://127.0.0.1:{free_port()}/", Envelope(b"x"),
                                 {"delays": [0, 0, 1.5, 3.0], "max_attempts": 99})
        await http.close()
        assert not out.ok and out.attempts == 5
        assert sleeps == [1.5, 3.0]  # zero delays are immediate retries

    asyncio.run(main())


def test_default_schedule_is_exponential_and_capped() -> None:
    """Without delays: base * 2^(n-1), capped at max_backoff, max_attempts - 1 retries."""
    assert retry_delays({"max_attempts": 4, "base_backoff": 1.0, "max_backoff": 3.0}) == [1.0, 2.0, 3.0]


def test_meta_header_keys_become_request_headers() -> None:
    """An envelope meta key http.header.<name> is sent as header <name> (per message)."""

    async def main() -> None:
        seen: list[dict[str, Any]] = []
        async with server(scripted([], seen)) as url:
            http = HttpDelivery(sleep=_no_sleep)
            env = Envelope(b"m", meta={"http.header.x-amz-sns-message-id": b"abc", "other": b"no"})
            out = await http.deliver(url, env, {"headers": {"x-static": "1"}})
            await http.close()
        assert out.ok
        assert seen[0]["headers"]["x-amz-sns-message-id"] == "abc"
        assert seen[0]["headers"]["x-static"] == "1" and "other" not in seen[0]["headers"]

    asyncio.run(main())


def test_backlog_full_resolves_the_outcome_at_once() -> None:
    async def main() -> None:
        http = HttpDelivery(max_pending=0, sleep=_no_sleep)
        out = await http.deliver("http://127.0.0.1:1/", Envelope(b"x"))
        assert out == DeliveryOutcome(False, 0, "http backlog full")
        await http.close()

    asyncio.run(main())


async def _no_sleep(_: float) -> None:
    return None
