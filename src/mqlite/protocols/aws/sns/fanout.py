"""PublishBatch fan-out: the router's routing decision, with one queue append per queue.

`deliver_batch(state, router, envelopes)` routes a batch of published messages the way
`Router.publish` would for SNS topics (every matching binding, `dedupe` off, the `sns`
transform per binding), but groups the SQS deliveries by queue and hands each queue
its messages in one `Queue.send_batch` (one log append instead of one per message).
Before the transforms run, the signatures the chunk's notifications need are computed
by `presign` (worker threads for two or more), `PRESIGN_CHUNK` messages at a time.
Order: each queue receives the batch's messages in entry order (FIFO group order holds).
A delivery that fails (the queue is gone, the queue refuses the message, the transform
fails) is dead-lettered to the binding's `dead_letter` queue (the subscription's
RedrivePolicy) with the same `mqlite.dlq.*` meta the router adds. A message whose
matches include a binding that is not an SNS subscription (a binding made by another
front-end on the topic's router) goes through `Router.publish` unchanged.
`Coalescer.deliver(router, envelope)` is the single-message Publish path: the Publish
requests handled in one event-loop iteration for one topic (concurrent clients) are
delivered together by one `deliver_batch` scheduled with `call_soon`, so N concurrent
publishes cost one append per queue instead of N; each request awaits its batch.
Concurrency: the core loop; awaits each queue's append in turn.
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
    needs_signature,
    signed,
    sns_transform,
    sqs_delivery,
)
from mqlite.protocols.aws.sns.presign import presign

log = logging.getLogger("mqlite.aws.sns")
PRESIGN_CHUNK = 64  # messages signed ahead at a time (well within envelope.SIGN_CACHE)


async def deliver_batch(state: SnsState, router: Router, envelopes: Sequence[Envelope]) -> None:
    per_queue: dict[str, list[tuple[Envelope | bytes, Binding]]] = {}
    for start in range(0, len(envelopes), PRESIGN_CHUNK):
        chunk = [(env, router.match(env)) for env in envelopes[start:start + PRESIGN_CHUNK]]
        await presign(state, [(env, m) for env, m in chunk
                              if all(b.args.get("transform") == TRANSFORM for b in m)])
        await _transform(state, router, chunk, per_queue)
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
                        common = signed(state, env, "sqs")
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


class Coalescer:
    """Batches the single publishes of one loop iteration per topic (see module docstring)."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self._pending: dict[str, tuple[Router, list[Envelope], asyncio.Future[None]]] = {}
        self.batches = 0  # statistics: batches delivered, messages in them
        self.messages = 0

    async def deliver(self, router: Router, env: Envelope) -> None:
        entry = self._pending.get(router.name)
        if entry is None or entry[0] is not router:
            loop = asyncio.get_running_loop()
            entry = (router, [], loop.create_future())
            self._pending[router.name] = entry
            loop.call_soon(self._flush, router.name, entry)
        entry[1].append(env)
        # shielded: a client that goes away must not cancel its neighbours' delivery
        await asyncio.shield(entry[2])

    def _flush(self, name: str, entry: tuple[Router, list[Envelope], asyncio.Future[None]]) -> None:
        if self._pending.get(name) is entry:
            del self._pending[name]
        router, envs, done = entry
        self.batches += 1
        self.messages += len(envs)
        task = asyncio.get_running_loop().create_task(deliver_batch(self.state, router, envs))

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
