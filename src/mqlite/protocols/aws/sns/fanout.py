"""SNS fan-out: published messages routed, signed and appended, one append per queue.

`deliver_batch(state, router, envelopes)` routes a batch of published messages the way
`Router.publish` would for SNS topics (every matching binding, `dedupe` off, the `sns`
transform per binding), but groups the SQS deliveries by queue and hands each queue
its messages in one `Queue.send_batch` (one log append instead of one per message).
Before the transforms run, the signatures the batch's notifications need are computed
together by `presign` (on the signing worker processes when there are any), and handed
to the transforms.
Order: each queue receives the batch's messages in entry order (FIFO group order holds).
A delivery that fails (the queue is gone, the queue refuses the message, the transform
fails) is dead-lettered to the binding's `dead_letter` queue (the subscription's
RedrivePolicy) with the same `mqlite.dlq.*` meta the router adds. A message whose
matches include a binding that is not an SNS subscription (a binding made by another
front-end on the topic's router) goes through `Router.publish` unchanged.
`Coalescer.deliver(router, envelope)` (Publish) and `deliver_many` (PublishBatch's
accepted entries): the publishes handled in one event-loop iteration for one topic
(concurrent clients) are delivered together, in arrival order, by one `deliver_batch`
scheduled with `call_soon`, so N concurrent requests cost one append per queue (and one
round of signing) instead of N; each request awaits its batch. A standard topic's batch
is delivered as soon as it holds COALESCE_MAX messages, so the signing of one batch
overlaps with the requests of the next; a FIFO topic's batches may be signed at the
same time but each appends only after the previous one is done (publish order).
Concurrency: the core loop; a batch awaits its signatures, then each queue's append.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding, Destination, DestinationKind, Router
from mqlite.protocols.aws.sns.common import TRANSFORM, SnsState
from mqlite.protocols.aws.sns.envelope import (
    M_ID,
    M_STATE,
    Common,
    cache_key,
    needs_signature,
    signed,
    sns_transform,
    sqs_delivery,
)
from mqlite.protocols.aws.sns.presign import presign

log = logging.getLogger("mqlite.aws.sns")
# A standard topic's coalesced batch is delivered once it holds this many messages, so
# its signing overlaps with the next batch's requests (a FIFO topic keeps one batch per
# loop iteration and orders its batches, see deliver_batch).
COALESCE_MAX = 64


def _is_fifo(router: Router) -> bool:
    return bool((router.config.get("sns") or {}).get("attributes", {}).get("FifoTopic") == "true")


async def deliver_batch(state: SnsState, router: Router, envelopes: Sequence[Envelope],
                        after: asyncio.Future[None] | None = None) -> None:
    """Route, sign, transform and append `envelopes`; with `after` (the topic's previous
    batch), nothing is appended before that batch is done, so the signing of consecutive
    batches overlaps but their messages reach every queue in publish order."""
    per_queue: dict[str, list[tuple[Envelope | bytes, Binding]]] = {}
    matched = [(env, router.match(env)) for env in envelopes]
    presigned = await presign(state, [(env, m) for env, m in matched
                                      if all(b.args.get("transform") == TRANSFORM for b in m)])
    if after is not None and not after.done():
        await asyncio.wait([after])  # its outcome is its own requests' to report
    await _transform(state, router, matched, presigned, per_queue)
    for name, items in per_queue.items():
        results: list[Any]
        try:
            results = await state.core.get_queue(name).send_batch([e for e, _ in items])
        except Exception as exc:  # noqa: BLE001 - the queue is gone or closed
            results = [exc] * len(items)
        for (out, b), result in zip(items, results, strict=True):
            if isinstance(result, Exception):
                failed = Envelope(body=out) if isinstance(out, bytes) else out
                await dead_letter(state, router, b, failed, f"{type(result).__name__}: {result}")


async def _transform(state: SnsState, router: Router, chunk: list[tuple[Envelope, list[Binding]]],
                     presigned: dict[str, Common],
                     per_queue: dict[str, list[tuple[Envelope | bytes, Binding]]]) -> None:
    """Run each matched binding's transform; queue deliveries are collected per queue.
    A confirmed `sqs` subscription to a message published here skips the generic
    transform's lookups (`sqs_delivery` directly; the same result)."""
    token = state.token.encode()
    for env, matched in chunk:
        if any(b.args.get("transform") != TRANSFORM for b in matched):
            await router.publish(env)
            continue
        own = env.meta.get(M_STATE) == token and M_ID in env.meta
        common: Common | None = None  # the message's signed part, looked up once
        for b in matched:
            info = b.args.get("sns")
            out: Envelope | bytes | None
            try:
                if (own and type(info) is dict and info.get("confirmed") and info.get("protocol") == "sqs"
                        and b.destination.kind is DestinationKind.QUEUE):
                    if common is None and needs_signature(info):
                        common = presigned.get(cache_key(env, "sqs")) or signed(state, env, "sqs")
                    out = sqs_delivery(state, env, info, common)
                else:
                    out = sns_transform(env, b)
            except Exception as exc:  # noqa: BLE001 - contained per binding, as in Router
                await dead_letter(state, router, b, env, f"transform failed: {exc}")
                continue
            if out is None:
                continue
            if b.destination.kind is not DestinationKind.QUEUE:  # pragma: no cover - sns bindings
                await router.publish(env)
                continue
            per_queue.setdefault(b.destination.name, []).append((out, b))


async def dead_letter(state: SnsState, router: Router, b: Binding, env: Envelope, reason: str) -> None:
    """Send a failed delivery to the binding's dead-letter queue (the router's meta keys)."""
    target = b.args.get("dead_letter")
    if not target or "mqlite.dlq.reason" in env.meta:
        log.info("sns: delivery to %s failed (%s); no dead-letter queue", b.destination, reason)
        return
    dest = Destination.from_json(target)
    meta = dict(env.meta)
    meta["mqlite.dlq.reason"] = reason.encode()
    meta["mqlite.dlq.router"] = router.name.encode()
    meta["mqlite.dlq.destination"] = str(b.destination).encode()
    try:
        await state.core.get_queue(dest.name).send_envelope(replace(env, meta=meta))
    except Exception as exc:  # noqa: BLE001 - a missing DLQ loses the message, as on AWS
        log.warning("sns: dead-letter queue %s refused a message: %s", dest.name, exc)


class _Batch:
    """The publishes collected for one topic, and the future their requests await."""

    __slots__ = ("done", "envs", "flushed", "router")

    def __init__(self, router: Router, done: asyncio.Future[None]) -> None:
        self.router = router
        self.envs: list[Envelope] = []
        self.done = done
        self.flushed = False


class Coalescer:
    """Batches the publishes of one loop iteration per topic (see module docstring)."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self._pending: dict[str, _Batch] = {}
        self._last: dict[str, asyncio.Task[None]] = {}  # FIFO topic -> its newest batch
        self.batches = 0  # statistics: batches delivered, messages in them
        self.messages = 0

    async def deliver(self, router: Router, env: Envelope) -> None:
        await self.deliver_many(router, (env,))

    async def deliver_many(self, router: Router, envs: Sequence[Envelope]) -> None:
        """Deliver `envs` (in order) with the rest of this loop iteration's publishes."""
        if not envs:
            return
        batch = self._pending.get(router.name)
        if batch is not None and len(batch.envs) >= COALESCE_MAX and not _is_fifo(router):
            self._flush(router.name, batch)  # full: its signing starts now, beside the next
            batch = None
        if batch is None or batch.router is not router:
            loop = asyncio.get_running_loop()
            batch = self._pending[router.name] = _Batch(router, loop.create_future())
            loop.call_soon(self._flush, router.name, batch)
        batch.envs.extend(envs)
        # shielded: a client that goes away must not cancel its neighbours' delivery
        await asyncio.shield(batch.done)

    def _flush(self, name: str, batch: _Batch) -> None:
        if self._pending.get(name) is batch:
            del self._pending[name]
        if batch.flushed:
            return  # flushed early, when it filled up
        batch.flushed = True
        router, envs, done = batch.router, batch.envs, batch.done
        self.batches += 1
        self.messages += len(envs)
        fifo = _is_fifo(router)
        after = self._last.get(name) if fifo else None
        task = asyncio.get_running_loop().create_task(deliver_batch(self.state, router, envs, after))
        if fifo:
            self._last[name] = task
            task.add_done_callback(lambda t: self._last.get(name) is t and self._last.pop(name))

        def finished(t: asyncio.Task[None]) -> None:
            if done.done():
                return
            exc = None if t.cancelled() else t.exception()
            if t.cancelled():
                done.cancel()
            elif exc is not None:
                done.set_exception(exc)
            else:
                done.set_result(None)

        task.add_done_callback(finished)
