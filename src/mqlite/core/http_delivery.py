"""HttpDelivery: at-least-once POSTs of routed messages to HTTP(S) endpoints.

Used by router bindings whose destination is `Destination.http(url)` (SNS HTTP/S
subscriptions, EventBridge API destinations). `submit(url, envelope, options,
on_failure)` returns at once; a background task sends the request with aiohttp.

Options (a binding's args['http'], all optional): method ("POST"), headers (dict),
content_type ("text/plain; charset=UTF-8"), max_attempts (3 attempts in all),
timeout (15 s), base_backoff (1 s), max_backoff (20 s), rate_per_second (None: no
limit; else requests to that URL are spaced 1/rate apart, like an EventBridge API
destination's InvocationRateLimitPerSecond).
Outcome of one attempt: 2xx succeeds; 429, 5xx, timeouts and connection errors are
retried with exponential backoff (base * 2^(n-1), capped); any other status fails at
once (a client error will not heal by retrying). After the last attempt,
`on_failure(envelope, reason)` is awaited (the router dead-letters the message).

Invariants: at most `max_concurrency` requests are in flight; at most `max_pending`
deliveries are queued (more fail immediately with reason "http backlog full"), so a
dead endpoint cannot grow memory without bound. Concurrency: core's event loop; the
aiohttp session is created on first use on that loop and closed by `close()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from mqlite.core.clock import Clock
from mqlite.core.message import Envelope

log = logging.getLogger("mqlite.core.http_delivery")

OnFailure = Callable[[Envelope, str], Coroutine[Any, Any, None]]
Sleep = Callable[[float], Awaitable[None]]

DEFAULTS: dict[str, Any] = {
    "method": "POST",
    "content_type": "text/plain; charset=UTF-8",
    "max_attempts": 3,
    "timeout": 15.0,
    "base_backoff": 1.0,
    "max_backoff": 20.0,
}


class HttpDelivery:
    """See module docstring."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        max_concurrency: int = 16,
        max_pending: int = 10_000,
        sleep: Sleep | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.max_concurrency = max_concurrency
        self.max_pending = max_pending
        self.defaults = {**DEFAULTS, **(defaults or {})}
        self._sleep: Sleep = sleep or asyncio.sleep
        self._sem: asyncio.Semaphore | None = None
        self._session: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_slot: dict[str, float] = {}
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self.delivered = 0
        self.failed = 0
        self.retries = 0

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(
        self,
        url: str,
        envelope: Envelope,
        options: Mapping[str, Any] | None = None,
        on_failure: OnFailure | None = None,
    ) -> bool:
        """Queue one delivery; False (and on_failure scheduled) when the backlog is full."""
        loop = asyncio.get_running_loop()
        if len(self._tasks) >= self.max_pending:
            self.failed += 1
            if on_failure is not None:
                self._track(loop.create_task(on_failure(envelope, "http backlog full")))
            return False
        opts = {**self.defaults, **(options or {})}
        self._track(loop.create_task(self._run(url, envelope, opts, on_failure)))
        return True

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every submitted delivery has finished (succeeded or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(
        self, url: str, env: Envelope, opts: dict[str, Any], on_failure: OnFailure | None
    ) -> None:
        attempts = max(1, int(opts["max_attempts"]))
        reason = "not attempted"
        rate = opts.get("rate_per_second")
        for attempt in range(1, attempts + 1):
            if rate:
                await self._throttle(url, float(rate))
            retry, reason = await self._attempt(url, env, opts)
            if reason == "":
                self.delivered += 1
                return
            if not retry or attempt == attempts:
                break
            self.retries += 1
            delay = min(float(opts["max_backoff"]), float(opts["base_backoff"]) * 2 ** (attempt - 1))
            if delay > 0:
                await self._sleep(delay)
        self.failed += 1
        log.info("http delivery to %s failed: %s", url, reason)
        if on_failure is not None:
            try:
                await on_failure(env, f"http delivery failed after {attempt} attempt(s): {reason}")
            except Exception:
                log.exception("http failure handler raised")

    async def _throttle(self, url: str, rate: float) -> None:
        """Space requests to one URL 1/rate seconds apart (reserving a slot first)."""
        now = self.clock.monotonic()
        slot = max(now, self._next_slot.get(url, now))
        self._next_slot[url] = slot + 1.0 / rate
        if slot > now:
            await self._sleep(slot - now)

    async def _attempt(self, url: str, env: Envelope, opts: dict[str, Any]) -> tuple[bool, str]:
        """One request: ("" on success) or (retryable?, reason)."""
        import aiohttp

        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrency)
        async with self._sem:
            self.in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
            try:
                if self._session is None or self._session.closed:
                    self._session = aiohttp.ClientSession()
                headers = {"Content-Type": str(opts["content_type"])}
                headers.update({str(k): str(v) for k, v in (opts.get("headers") or {}).items()})
                timeout = aiohttp.ClientTimeout(total=float(opts["timeout"]))
                async with self._session.request(
                    str(opts["method"]), url, data=env.body, headers=headers, timeout=timeout
                ) as resp:
                    await resp.read()
                    status = resp.status
            except TimeoutError:
                return True, "timeout"
            except aiohttp.ClientError as exc:
                return True, f"{type(exc).__name__}: {exc}"
            except ValueError as exc:  # a malformed URL
                return False, f"invalid endpoint: {exc}"
            finally:
                self.in_flight -= 1
        if 200 <= status < 300:
            return False, ""
        return (status == 429 or status >= 500), f"HTTP {status}"

    async def close(self) -> None:
        """Cancel queued deliveries and close the HTTP session."""
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
