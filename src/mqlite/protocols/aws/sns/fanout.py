"""PublishBatch fan-out: the router's routing decision, with one queue append per queue.

`deliver_batch(state, router, envelopes)` routes a batch of published messages the way
`Router.publish` would for SNS topics (every matching binding, `dedupe` off, the `sns`
transform per binding), but groups the SQS deliveries by queue and hands each queue
its messages in one `Queue.send_batch` (one log append instead of one per message).
Order: each queue receives the batch's messages in entry order (FIFO group order holds).
A delivery that fails (the queue is gone, the queue refuses the message, the transform
fails) is dead-lettered to the binding's `dead_letter` queue (the subscription's
RedrivePolicy) with the same `mqlite.dlq.*` meta the router adds. A message whose
matches include a binding that is not an SNS subscription (a binding made by another
front-end on the topic's router) goes through `Router.publish` unchanged.
Concurrency: the core loop; awaits each queue's append in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding, Destination, DestinationKind, Router
from mqlite.protocols.aws.sns.common import TRANSFORM, SnsState
from mqlite.protocols.aws.sns.envelope import sns_transform

log = logging.getLogger("mqlite.aws.sns")


async def deliver_batch(state: SnsState, router: Router, envelopes: Sequence[Envelope]) -> None:
    per_queue: dict[str, list[tuple[Envelope, Binding]]] = {}
    for env in envelopes:
        matched = router.match(env)
        if any(b.args.get("transform") != TRANSFORM for b in matched):
            await router.publish(env)
            continue
        for b in matched:
            try:
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
    for name, items in per_queue.items():
        results: list[Any]
        try:
            results = await state.core.get_queue(name).send_batch([e for e, _ in items])
        except Exception as exc:  # noqa: BLE001 - the queue is gone or closed
            results = [exc] * len(items)
        for (out, b), result in zip(items, results, strict=True):
            if isinstance(result, Exception):
                await dead_letter(state, router, b, out, f"{type(result).__name__}: {result}")


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
