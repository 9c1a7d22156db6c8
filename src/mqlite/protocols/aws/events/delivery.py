"""Target dispatch: an event that matched a rule goes to each of the rule's targets.

`Dispatcher.publish(region, bus, event, body, *, replay=None, only_rules=None)` matches
the event on the bus's router and, per matching binding, archives it (archive bindings;
never for replayed events) or delivers it to one rule target. Targets by ARN:
- `sqs` queue (FIFO: MessageGroupId from SqsParameters and no deduplication id, as
  EventBridge sends: a FIFO queue needs content-based deduplication to take the event);
- `sns` topic (through the SNS front-end's Publish: subscribers get SNS envelopes);
- `kinesis` stream (`stream/<name>`; key from KinesisParameters.PartitionKeyPath, else
  the event id; the shard chosen as Kinesis does for streams its front-end made);
- `kafka` (the last ARN segment names an mqlite stream, i.e. a Kafka topic);
- `firehose` (appended to the delivery stream's buffer stream `__mqlite.firehose.<name>`, which
  the Firehose front-end delivers from);
- `events` event bus (cross-bus: the event is published on that bus, each bus once per
  event) or api-destination (HTTP through the registry's shared HttpDelivery, with the
  connection's authorization and the destination's rate limit);
- `lambda` functions (POST to `settings.lambda_endpoint` +
  `/2015-03-31/functions/<name>/invocations`, invocation type Event).
Failure handling (EventBridge's): a missing resource is not retried; other failures are
retried in the background with exponential backoff until RetryPolicy's
MaximumRetryAttempts (default 185) or MaximumEventAgeInSeconds (default 86400) is
exhausted; then the event goes to the target's DeadLetterConfig queue with the message
attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION
(when retries ran out) and RETRY_ATTEMPTS. A failing target never blocks another target
or rule: each delivery's error is contained, and retries run as tasks (at most
MAX_PENDING at once: beyond that a failure is dead-lettered at once, so a dead target
cannot grow memory without bound).
Concurrency: the server's event loop; queue and stream deliveries are awaited inline
(so PutEvents returns once matched events are in their queues), HTTP ones are tasks.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

import orjson

from mqlite.core import errors as core_errors
from mqlite.core.message import Attribute, Envelope
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.events.api_destinations import endpoint_url
from mqlite.protocols.aws.events.common import (
    EventsState,
    bus_name_of,
    scope_of,
    split_scope,
)
from mqlite.protocols.aws.events.transform import (
    MISSING,
    extract,
    parse_path,
    render_input,
)
from mqlite.protocols.aws.targets import Delivery, TargetFailed, target_for

log = logging.getLogger("mqlite.aws.events.delivery")

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86_400
MAX_PENDING = 10_000  # retrying deliveries; beyond it a failure goes to the DLQ at once


class TargetError(TargetFailed):
    """One delivery attempt failed; `retryable` False for a missing/invalid resource."""

    def __init__(self, code: str, message: str, retryable: bool = True) -> None:
        super().__init__(code, message, retryable)


def arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN ('' when not an ARN)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "", "", "", ""
    return parts[2], parts[3], parts[4], parts[5]


class Dispatcher:
    """See module docstring."""

    def __init__(self, state: EventsState) -> None:
        self.state = state
        self.core = state.core
        self.settings = state.settings
        self.retry_base = self.settings.events_retry_base
        self._tasks: set[asyncio.Task[Any]] = set()
        self.tokens: dict[str, tuple[str, float]] = {}  # connection ARN -> (token, expiry)
        self.delivered = 0
        self.failed = 0

    # -- publishing -------------------------------------------------------------------------
    async def publish(
        self, region: str, bus: str, event: dict[str, Any], body: bytes, *,
        replay: str | None = None, only_rules: set[str] | None = None,
        visited: set[str] | None = None,
    ) -> int:
        """Match and deliver one event on a bus; returns the number of target deliveries."""
        router = self.state.router(region, bus)
        if router is None:
            return 0
        visited = visited if visited is not None else set()
        visited.add(f"{region}/{bus}")
        env = Envelope(body)
        count = 0
        rules = self.state.rules.items
        for binding in router.match(env):
            args = binding.args
            archive = args.get("archive")
            if archive is not None:
                if replay is None:
                    await self._archive(archive, body, event)
                continue
            rule = rules.get(args.get("rule", ""))
            if rule is None:
                continue
            if only_rules is not None and rule["arn"] not in only_rules:
                continue
            target = rule.get("targets", {}).get(args.get("target"))
            if target is None:
                continue
            await self.deliver(rule, target, event, body, visited)
            count += 1
        return count

    async def _archive(self, key: str, body: bytes, event: dict[str, Any]) -> None:
        archive = self.state.archives.get(key)
        if archive is None:
            return
        try:
            stream = self.core.streams.get(archive["stream"])
            await stream.append(body)
        except Exception as exc:  # noqa: BLE001 - an archive failure never fails PutEvents
            log.warning("archive %s: append failed: %s", key, exc)

    # -- one target -------------------------------------------------------------------------
    async def deliver(
        self, rule: dict[str, Any], target: Mapping[str, Any], event: dict[str, Any], body: bytes,
        visited: set[str] | None = None,
    ) -> None:
        """Deliver to one target now; failures go to retries / the DLQ (never raise)."""
        try:
            payload = render_input(target, event, body, rule["arn"], rule["name"], event.get("time", ""))
        except Exception as exc:  # noqa: BLE001 - a bad transform fails this target only
            await self._dead_letter(rule, target, body, "TRANSFORMATION_ERROR", str(exc), 0, None)
            return
        try:
            await self._attempt(rule, target, event, payload, visited)
            self.delivered += 1
        except TargetError as exc:
            if exc.retryable and self._max_retries(target) > 0 and len(self._tasks) < MAX_PENDING:
                self._spawn(self._retry(rule, target, event, body, payload, exc))
            else:
                await self._dead_letter(rule, target, body, exc.code, exc.message, 0,
                                        "MaximumRetryAttempts" if exc.retryable else None)

    def _max_retries(self, target: Mapping[str, Any]) -> int:
        policy = target.get("RetryPolicy") or {}
        return int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))

    async def _retry(
        self, rule: dict[str, Any], target: Mapping[str, Any], event: dict[str, Any], body: bytes,
        payload: bytes, first: TargetError,
    ) -> None:
        policy = target.get("RetryPolicy") or {}
        max_retries = self._max_retries(target)
        max_age_ms = int(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)) * 1000
        start = self.core.clock.now_ms()
        error = first
        attempts = 0
        condition = "MaximumRetryAttempts"
        while attempts < max_retries:
            delay = min(60.0, self.retry_base * 2 ** attempts)
            await asyncio.sleep(delay)
            if self.core.clock.now_ms() - start > max_age_ms:
                condition = "MaximumEventAgeInSeconds"
                break
            attempts += 1
            try:
                await self._attempt(rule, target, event, payload, None)
                self.delivered += 1
                return
            except TargetError as exc:
                error = exc
                if not exc.retryable:
                    condition = ""
                    break
        await self._dead_letter(rule, target, body, error.code, error.message, attempts, condition or None)

    async def _attempt(
        self, rule: dict[str, Any], target: Mapping[str, Any], event: dict[str, Any], payload: bytes,
        visited: set[str] | None,
    ) -> None:
        arn = str(target.get("Arn", ""))
        service, region, account, resource = arn_parts(arn)
        ns = self._target_ns(rule, account, region)
        try:
            if service == "sqs":
                await self._to_queue(self._core(ns, resource), target, event, payload)
            elif service == "sns":
                await self._to_topic(arn, ns, target, event, payload)
            elif service in ("kinesis", "kafka", "firehose"):
                await self._to_stream(service, resource, target, event, payload, ns)
            elif service == "events" and resource.startswith("event-bus/"):
                bus = bus_name_of(arn)
                region = scope_of(ns.account, ns.region, self.state.account)
                if self.state.bus(region, bus) is None:
                    raise TargetError("RESOURCE_NOT_FOUND", f"Event bus {bus} does not exist.", False)
                seen = visited if visited is not None else set()
                if f"{region}/{bus}" not in seen:
                    await self.publish(region, bus, event, orjson.dumps(event), visited=seen)
            elif service == "events" and resource.startswith("api-destination/"):
                self._spawn(self._http_target(rule, target, event, payload, resource))
            elif service == "lambda":
                self._spawn(self._lambda_target(rule, target, event, payload, resource))
            else:
                raise TargetError("UNSUPPORTED_TARGET", f"Target {arn} is not supported by mqlite.", False)
        except TargetError:
            raise
        except TargetFailed as exc:  # another service's target refused it
            raise TargetError(exc.code, exc.message, exc.retryable) from None
        except (core_errors.QueueNotFound, core_errors.StreamNotFound, core_errors.RouterNotFound) as exc:
            raise TargetError("RESOURCE_NOT_FOUND", str(exc), False) from None
        except core_errors.InvalidValue as exc:  # the target refuses this message: no retry
            raise TargetError("SDK_CLIENT_ERROR", str(exc), False) from None
        except core_errors.CoreError as exc:
            raise TargetError("SDK_CLIENT_ERROR", str(exc), True) from None
        except Exception as exc:
            log.warning("rule %s target %s: delivery raised", rule["name"], target.get("Id"), exc_info=True)
            raise TargetError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", True) from None

    def _target_ns(self, rule: dict[str, Any], account: str, region: str) -> namespace.Namespace:
        """The namespace a target ARN names: its account and region, the rule's when empty."""
        rule_account, rule_region = split_scope(rule["region"], self.state.account)
        return namespace.home(self.settings).at(account or rule_account, region or rule_region)

    @staticmethod
    def _core(ns: namespace.Namespace, name: str) -> str:
        found = ns.core(name)
        if found is None:
            raise TargetError("RESOURCE_NOT_FOUND", f"{name} does not exist.", False)
        return found

    async def _to_queue(self, name: str, target: Mapping[str, Any], event: dict[str, Any], payload: bytes) -> None:
        queue = self.core.get_queue(name)
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        fifo = bool(queue.config.fifo)
        # EventBridge sends no MessageDeduplicationId: a FIFO queue without content-based
        # deduplication refuses the message (a failed, not retried, delivery)
        await queue.send(payload, None, group_id=group if fifo else None)

    async def _to_topic(self, arn: str, ns: namespace.Namespace, target: Mapping[str, Any],
                        event: dict[str, Any], payload: bytes) -> None:
        """Publish through SNS's target (notification envelopes, FIFO, signatures), in
        the topic's account and region."""
        name = self._core(ns, arn_parts(arn)[3])
        fifo = arn_parts(arn)[3].endswith(".fifo")
        group = (target.get("SqsParameters") or {}).get("MessageGroupId") or "default"
        delivery = Delivery(payload, arn=arn, namespace=ns, host=self.state.host,
                            group_id=group if fifo else None, dedup_id=str(event.get("id")) if fifo else None)
        await target_for(self.core, self.settings, "sns").deliver(name, delivery)

    async def _to_stream(self, service: str, resource: str, target: Mapping[str, Any],
                         event: dict[str, Any], payload: bytes, ns: namespace.Namespace) -> None:
        name = resource.rsplit("/", 1)[-1]
        if service == "kafka":  # a core stream: no AWS namespace, no front-end in between
            await self.core.get_stream(name).append(payload, None)
            return
        name = self._core(ns, name)
        if service == "firehose":  # the delivery stream's durable buffer
            await target_for(self.core, self.settings, "firehose").deliver(name, Delivery(payload))
            return
        key = str(event.get("id", ""))
        path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
        if path:
            value = extract(parse_path(path), event)
            if value is not MISSING:
                key = value if isinstance(value, str) else orjson.dumps(value).decode()
        await target_for(self.core, self.settings, "kinesis").deliver(name, Delivery(payload, partition_key=key))

    # -- HTTP targets -----------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _http_target(self, rule: dict[str, Any], target: Mapping[str, Any], event: dict[str, Any],
                           payload: bytes, resource: str) -> None:
        name = resource.split("/")[1]
        dest = self.state.api_destinations.get(f"{rule['region']}/{name}")
        if dest is None:
            await self._dead_letter(rule, target, payload, "RESOURCE_NOT_FOUND",
                                    f"API destination {name} does not exist.", 0, None)
            return
        conn = self.state.connections.get(f"{rule['region']}/{dest['connection']}")
        headers: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        if conn is None or conn.get("state") == "DEAUTHORIZED":
            await self._dead_letter(rule, target, payload, "CONNECTION_FAILURE",
                                    f"Connection {dest['connection']} is not authorized.", 0, None)
            return
        if conn is not None:
            try:
                await self._auth(conn, headers, query)
            except Exception as exc:  # noqa: BLE001 - the token endpoint failed
                await self._dead_letter(rule, target, payload, "CONNECTION_FAILURE",
                                        f"Authorization failed: {exc}", 0, None)
                return
        http = target.get("HttpParameters") or {}
        headers.update({str(k): str(v) for k, v in (http.get("HeaderParameters") or {}).items()})
        query.extend((str(k), str(v)) for k, v in (http.get("QueryStringParameters") or {}).items())
        url = endpoint_url(dest["endpoint"])
        for value in http.get("PathParameterValues") or []:
            url = url.replace("*", urllib.parse.quote(str(value), safe=""), 1)
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        opts: dict[str, Any] = {
            "method": dest.get("method", "POST"), "headers": headers,
            "content_type": "application/json; charset=utf-8",
            "max_attempts": self._max_retries(target) + 1, "base_backoff": self.retry_base,
        }
        if dest.get("rate"):
            opts["rate_per_second"] = float(dest["rate"])
        self._submit_http(rule, target, url, payload, opts)

    async def _auth(self, conn: Mapping[str, Any], headers: dict[str, str], query: list[tuple[str, str]]) -> None:
        kind = conn["auth_type"]
        params = conn.get("auth", {})
        invocation = params.get("InvocationHttpParameters") or {}
        for p in invocation.get("HeaderParameters") or []:
            headers[p["Key"]] = p["Value"]
        for p in invocation.get("QueryStringParameters") or []:
            query.append((p["Key"], p["Value"]))
        if kind == "BASIC":
            basic = params["BasicAuthParameters"]
            token = base64.b64encode(f"{basic['Username']}:{basic['Password']}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif kind == "API_KEY":
            key = params["ApiKeyAuthParameters"]
            headers[key["ApiKeyName"]] = key["ApiKeyValue"]
        elif kind == "OAUTH_CLIENT_CREDENTIALS":
            headers["Authorization"] = f"Bearer {await self._oauth_token(conn)}"

    async def _oauth_token(self, conn: Mapping[str, Any]) -> str:
        """OAuth client credentials: one token per connection, fetched again on expiry."""
        import aiohttp

        cached = self.tokens.get(conn["arn"])
        now = self.core.clock.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        oauth = conn["auth"]["OAuthParameters"]
        client = oauth["ClientParameters"]
        extra = oauth.get("OAuthHttpParameters") or {}
        form = {"grant_type": "client_credentials"}
        form.update({p["Key"]: p["Value"] for p in extra.get("BodyParameters") or []})
        headers = {p["Key"]: p["Value"] for p in extra.get("HeaderParameters") or []}
        params = {p["Key"]: p["Value"] for p in extra.get("QueryStringParameters") or []}
        secret = f"{client['ClientID']}:{client['ClientSecret']}".encode()
        headers.setdefault("Authorization", "Basic " + base64.b64encode(secret).decode())
        method = oauth.get("HttpMethod", "POST")
        timeout = aiohttp.ClientTimeout(total=15)
        policy = self.core.routers.http.policy
        refusal = policy.refusal(oauth["AuthorizationEndpoint"])
        if refusal is not None:
            raise RuntimeError(f"refused by the HTTP destination policy: {refusal}")
        async with policy.session() as session, session.request(
            method, oauth["AuthorizationEndpoint"], data=form, params=params, headers=headers, timeout=timeout,
        ) as resp:
            if resp.status // 100 != 2:
                raise RuntimeError(f"token endpoint answered HTTP {resp.status}")
            doc = await resp.json(content_type=None)
        token = str(doc["access_token"])
        ttl = float(doc.get("expires_in", 3600))
        self.tokens[conn["arn"]] = (token, now + max(1.0, ttl - 30))
        return token

    async def _lambda_target(self, rule: dict[str, Any], target: Mapping[str, Any], event: dict[str, Any],
                             payload: bytes, resource: str) -> None:
        endpoint = self.settings.lambda_endpoint
        name = resource.split(":")[1] if ":" in resource else resource
        if not endpoint:
            await self._dead_letter(rule, target, payload, "RESOURCE_NOT_FOUND",
                                    "No Lambda endpoint is configured (lambda_endpoint).", 0, None)
            return
        url = f"{endpoint.rstrip('/')}/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/invocations"
        opts = {"method": "POST", "headers": {"X-Amz-Invocation-Type": "Event"},
                "content_type": "application/json", "max_attempts": self._max_retries(target) + 1,
                "base_backoff": self.retry_base, "policy": False}  # the operator's endpoint
        self._submit_http(rule, target, url, payload, opts)

    def _submit_http(self, rule: dict[str, Any], target: Mapping[str, Any], url: str, payload: bytes,
                     opts: dict[str, Any]) -> None:
        async def on_failure(env: Envelope, reason: str) -> None:
            attempts = 0
            if "after " in reason:
                try:
                    attempts = int(reason.split("after ", 1)[1].split(" ", 1)[0]) - 1
                except ValueError:
                    attempts = 0
            await self._dead_letter(rule, target, env.body, "HTTP_ERROR", reason, attempts,
                                    "MaximumRetryAttempts" if attempts else None)

        self.core.routers.http.submit(url, Envelope(payload), opts, on_failure)

    # -- dead letters -----------------------------------------------------------------------
    async def _dead_letter(
        self, rule: dict[str, Any], target: Mapping[str, Any], body: bytes, code: str, message: str,
        attempts: int, condition: str | None,
    ) -> None:
        self.failed += 1
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        log.info("rule %s target %s failed: %s %s", rule["name"], target.get("Id"), code, message)
        if not dlq:
            return
        _service, region, account, name = arn_parts(dlq)
        attrs = {
            "RULE_ARN": Attribute("String", rule["arn"]),
            "TARGET_ARN": Attribute("String", str(target.get("Arn", ""))),
            "ERROR_CODE": Attribute("String", code),
            "ERROR_MESSAGE": Attribute("String", message[:1000] or code),
            "RETRY_ATTEMPTS": Attribute("String", str(attempts)),
        }
        if condition:
            attrs["EXHAUSTED_RETRY_CONDITION"] = Attribute("String", condition)
        try:
            name = self._core(self._target_ns(rule, account, region), name)
            await self.core.get_queue(name).send(body, attrs)
        except Exception as exc:  # noqa: BLE001 - a missing DLQ drops the event (as AWS)
            log.warning("dead-letter queue %s of rule %s: %s", dlq, rule["name"], exc)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


