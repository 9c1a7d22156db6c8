"""HttpDelivery: at-least-once POSTs of routed messages to HTTP(S) endpoints.

Used by router bindings whose destination is `Destination.http(url)` (SNS HTTP/S
subscriptions, EventBridge API destinations). `submit(url, envelope, options,
on_failure, on_success=None)` returns at once; a background task sends the request with
aiohttp. `await deliver(url, envelope, options)` submits and waits for the
`DeliveryOutcome` (ok, attempts, reason, status).

Options (a binding's args['http'], all optional): method ("POST"), headers (dict),
content_type ("text/plain; charset=UTF-8"), max_attempts (3 attempts in all),
timeout (15 s), base_backoff (1 s), max_backoff (20 s), rate_per_second (None: no
limit; else requests to that URL are spaced 1/rate apart, like an EventBridge API
destination's InvocationRateLimitPerSecond), delays (None; else an explicit retry
schedule: the seconds to wait before each retry, `len(delays) + 1` attempts in all,
overriding max_attempts/base_backoff/max_backoff - SNS's DeliveryPolicy phases).
Per-message headers: `options["headers"]` is per submit; in addition, an envelope meta
key `http.header.<name>` adds the header `<name>` (so a router binding, whose options are
per binding, can still carry per-message headers such as `x-amz-sns-message-id`).
Destinations: a URL outside `policy` (core/destinations.py; `options["policy"] = False`
exempts the operator's own endpoints) fails at once, as does a name resolving outside it.
Outcome of one attempt: 2xx succeeds; 429, 5xx, timeouts and connection errors are
retried with exponential backoff (base * 2^(n-1), capped); any other status fails at
once (a client error will not heal by retrying). After the last attempt,
`on_failure(envelope, reason)` is awaited (the router dead-letters the message); a
success awaits `on_success(envelope)`. Either way the outcome is counted once.

Invariants: at most `max_concurrency` requests are in flight; at most `max_pending`
deliveries are queued (more fail immediately with reason "http backlog full"), so a
dead endpoint cannot grow memory without bound. Concurrency: core's event loop; the
aiohttp session is created on first use on that loop and closed by `close()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mqlite.core.clock import Clock
from mqlite.core.destinations import DestinationPolicy, DestinationRefused
from mqlite.core.message import Envelope

log = logging.getLogger("mqlite.core.http_delivery")

OnFailure = Callable[[Envelope, str], Coroutine[Any, Any, None]]
OnSuccess = Callable[[Envelope], Coroutine[Any, Any, None]]
HEADER_META = "http.header."
Sleep = Callable[[float], Awaitable[None]]

DEFAULTS: dict[str, Any] = {
    "method": "POST",
    "content_type": "text/plain; charset=UTF-8",
    "max_attempts": 3,
    "timeout": 15.0,
    "base_backoff": 1.0,
    "max_backoff": 20.0,
}


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How one delivery ended: ok, attempts made, failure reason ("" when ok), last status."""

    ok: bool
    attempts: int
    reason: str = ""
    status: int | None = None


def retry_delays(opts: Mapping[str, Any]) -> list[float]:
    """The seconds to wait before each retry under `opts` (see module docstring)."""
    explicit: Sequence[float] | None = opts.get("delays")
    if explicit is not None:
        return [max(0.0, float(d)) for d in explicit]
    attempts = max(1, int(opts["max_attempts"]))
    base, cap = float(opts["base_backoff"]), float(opts["max_backoff"])
    return [min(cap, base * 2 ** (n - 1)) for n in range(1, attempts)]


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
        policy: DestinationPolicy | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.policy = policy or DestinationPolicy()
        self._trusted_session: Any = None
        self.max_concurrency = max_concurrency
        self.max_pending = max_pending
        self.defaults = {**DEFAULTS, **(defaults or {})}
        self.sleep: Sleep = sleep or asyncio.sleep  # public: tests inject a recorder
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
        on_success: OnSuccess | None = None,
        *,
        outcome: asyncio.Future[DeliveryOutcome] | None = None,
    ) -> bool:
        """Queue one delivery; False (and on_failure scheduled) when the backlog is full.
        `outcome`, if given, is resolved with the DeliveryOutcome when the delivery ends."""
        loop = asyncio.get_running_loop()
        if len(self._tasks) >= self.max_pending:
            self.failed += 1
            if outcome is not None and not outcome.done():
                outcome.set_result(DeliveryOutcome(False, 0, "http backlog full"))
            if on_failure is not None:
                self._track(loop.create_task(on_failure(envelope, "http backlog full")))
            return False
        opts = {**self.defaults, **(options or {})}
        self._track(loop.create_task(self._run(url, envelope, opts, on_failure, on_success, outcome)))
        return True

    async def deliver(
        self, url: str, envelope: Envelope, options: Mapping[str, Any] | None = None,
        on_failure: OnFailure | None = None, on_success: OnSuccess | None = None,
    ) -> DeliveryOutcome:
        """Submit one delivery and wait for its outcome (retries included)."""
        fut: asyncio.Future[DeliveryOutcome] = asyncio.get_running_loop().create_future()
        self.submit(url, envelope, options, on_failure, on_success, outcome=fut)
        return await fut

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every submitted delivery has finished (succeeded or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(
        self, url: str, env: Envelope, opts: dict[str, Any], on_failure: OnFailure | None,
        on_success: OnSuccess | None = None,
        outcome: asyncio.Future[DeliveryOutcome] | None = None,
    ) -> None:
        delays = retry_delays(opts)
        attempts = len(delays) + 1
        reason = "not attempted"
        status: int | None = None
        rate = opts.get("rate_per_second")
        attempt = 0
        try:
            for attempt in range(1, attempts + 1):
                if rate:
                    await self._throttle(url, float(rate))
                retry, reason, status = await self._attempt(url, env, opts)
                if reason == "":
                    self.delivered += 1
                    if outcome is not None and not outcome.done():
                        outcome.set_result(DeliveryOutcome(True, attempt, "", status))
                    if on_success is not None:
                        try:
                            await on_success(env)
                        except Exception:
                            log.exception("http success handler raised")
                    return
                if not retry or attempt == attempts:
                    break
                self.retries += 1
                delay = delays[attempt - 1]
                if delay > 0:
                    await self.sleep(delay)
        except asyncio.CancelledError:
            if outcome is not None and not outcome.done():
                outcome.set_result(DeliveryOutcome(False, attempt, "cancelled", status))
            raise
        self.failed += 1
        log.info("http delivery to %s failed: %s", url, reason)
        if outcome is not None and not outcome.done():
            outcome.set_result(DeliveryOutcome(False, attempt, reason, status))
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
            await self.sleep(slot - now)

    async def _attempt(
        self, url: str, env: Envelope, opts: dict[str, Any]
    ) -> tuple[bool, str, int | None]:
        """One request: (False, "", status) on success, else (retryable?, reason, status)."""
        import aiohttp

        checked = opts.get("policy", True)
        refusal = self.policy.refusal(url) if checked else None
        if refusal is not None:
            return False, f"refused by the HTTP destination policy: {refusal}", None
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrency)
        async with self._sem:
            self.in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
            try:
                session = self._sessions(checked)
                headers = {"Content-Type": str(opts["content_type"])}
                headers.update({str(k): str(v) for k, v in (opts.get("headers") or {}).items()})
                for key, value in env.meta.items():
                    if key.startswith(HEADER_META):
                        headers[key[len(HEADER_META):]] = value.decode("utf-8", "replace")
                timeout = aiohttp.ClientTimeout(total=float(opts["timeout"]))
                async with session.request(
                    str(opts["method"]), url, data=env.body, headers=headers, timeout=timeout
                ) as resp:
                    await resp.read()
                    status = resp.status
            except TimeoutError:
                return True, "timeout", None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, DestinationRefused):
                    return False, f"refused by the HTTP destination policy: {exc.os_error}", None
                return True, f"{type(exc).__name__}: {exc}", None
            except aiohttp.ClientError as exc:
                return True, f"{type(exc).__name__}: {exc}", None
            except ValueError as exc:  # a malformed URL
                return False, f"invalid endpoint: {exc}", None
            finally:
                self.in_flight -= 1
        if 200 <= status < 300:
            return False, "", status
        return (status == 429 or status >= 500), f"HTTP {status}", status

    def _sessions(self, checked: bool) -> Any:
        """The session for policy-checked URLs, or the plain one for the operator's own
        endpoints (`options["policy"] = False`: a configured Lambda endpoint)."""
        if checked:
            if self._session is None or self._session.closed:
                self._session = self.policy.session()
            return self._session
        if self._trusted_session is None or self._trusted_session.closed:
            import aiohttp

            self._trusted_session = aiohttp.ClientSession()
        return self._trusted_session

    async def close(self) -> None:
        """Cancel queued deliveries and close the HTTP sessions."""
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for session in (self._session, self._trusted_session):
            if session is not None:
                await session.close()
        self._session = self._trusted_session = None
