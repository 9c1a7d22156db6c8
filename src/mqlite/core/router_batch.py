"""Batch publish through a router: one routing per distinct key, one append per queue.

`await publish_batch(router, envelopes, headers=None) -> list[RouteResult]` gives each
envelope the result `Router.publish` would, but a run of envelopes whose matches all
deliver straight to queues (no transform, no exchange-to-exchange hop, something
matched) is routed once per distinct routing key (for keyed-only routers) and handed to
each destination queue in one `Queue.send_batch` (one log append, one durability wait)
instead of one append per message. Any other envelope (a transform, a router, stream,
channel or HTTP destination, nothing matched: alternate exchange and dead-lettering of
unroutable messages) first flushes the run gathered so far, then goes through
`Router.publish` alone, so every queue still receives the batch's messages in order.
A queue's refusal of one entry (full, gone) fails that entry only, and is
dead-lettered as `Router.publish` would (`Router._fail`).
Concurrency: core's event loop; the queues' appends are awaited one after the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding, DestinationKind, RouteResult, Router, _Publish, _reason


async def publish_batch(
    router: Router, envelopes: Sequence[Envelope], headers: Mapping[str, Any] | None = None
) -> list[RouteResult]:
    """See module docstring."""
    results: list[RouteResult | None] = [None] * len(envelopes)
    ctxs: list[_Publish | None] = [None] * len(envelopes)
    # the run being gathered: queue name -> [(envelope index, binding)] in order
    run: dict[str, list[tuple[int, Binding]]] = {}
    index = router._index
    keyed = index.keyed_only
    cache: dict[str, list[Binding]] = {}
    dedupe = bool(router.config.get("dedupe", True))
    queue_kind = DestinationKind.QUEUE
    for i, env in enumerate(envelopes):
        if keyed:
            matched = cache.get(env.routing_key)
            if matched is None:
                matched = cache[env.routing_key] = index.match_key(env.routing_key)
        else:
            matched = router.match(env, headers)
        if not matched or any(b.destination.kind is not queue_kind or b.args.get("transform")
                              for b in matched):
            if run:
                await _flush(router, envelopes, run, ctxs)
                run = {}
            results[i] = await router.publish(env, headers=headers)
            continue
        ctx = ctxs[i] = _Publish(headers)
        ctx.visited.add(router.name)
        for b in matched:
            dest = b.destination
            if dedupe:
                if dest in ctx.delivered:
                    continue
                ctx.delivered.add(dest)
            run.setdefault(dest.name, []).append((i, b))
            ctx.routed += 1  # taken back if the queue refuses it (_flush)
            ctx.destinations.append(dest)  # in binding order, as `publish` lists them
    if run:
        await _flush(router, envelopes, run, ctxs)
    out: list[RouteResult] = []
    for r, c in zip(results, ctxs, strict=True):
        out.append(r if r is not None else c.result() if c is not None else RouteResult(0))
    return out


async def _flush(
    router: Router, envelopes: Sequence[Envelope], run: dict[str, list[tuple[int, Binding]]],
    ctxs: list[Any],
) -> None:
    """Append each queue's share of the run in one `send_batch`; tally per envelope."""
    core = router.core
    for name, items in run.items():
        envs = [envelopes[i] for i, _ in items]
        outcomes: list[Any]
        try:
            q = core.get_queue(name)
            send_batch = getattr(q, "send_batch", None)
            if send_batch is None:  # a queue kind without batches: one at a time
                outcomes = []
                for i, b in items:
                    try:
                        await router._deliver(b.destination, envelopes[i], b)
                        outcomes.append(None)
                    except Exception as exc:  # noqa: BLE001 - contained per entry
                        outcomes.append(exc)
            else:
                outcomes = await send_batch(envs)
        except Exception as exc:  # noqa: BLE001 - the queue is gone or closed
            outcomes = [exc] * len(items)
        for (i, b), outcome in zip(items, outcomes, strict=True):
            ctx = ctxs[i]
            if isinstance(outcome, BaseException):
                ctx.routed -= 1
                ctx.destinations.remove(b.destination)
                await router._fail(envelopes[i], b, _reason(outcome), ctx)
