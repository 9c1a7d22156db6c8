"""Signing ahead of delivery: a batch's RSA signatures, computed together before its transforms.

`presign(state, items)` takes the messages of one fan-out batch with their matched
bindings, finds the notifications that will need a signature (`needs_signature`: a
confirmed subscription that gets the JSON envelope; raw deliveries never do) and are not
in `state.sign_cache` yet, has them signed together by the state's `SignPool` (worker
processes when the machine has cores to spare, else inline; sign_pool.py), and stores
the completed common parts in the cache (for deliveries made later, HTTP retries...) and
returns them, so the transforms that run next only copy them. While a batch waits for
its signatures the loop serves other requests.
Invariant: a notification is signed at most once per message and protocol variant while
it is cached; presign never changes what a transform produces (only when it is computed).
Concurrency: called on the core loop; the job documents are built before signing and
not touched until the signatures are back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.sns.envelope import (
    M_ID,
    M_STATE,
    Common,
    cache_key,
    needs_signature,
    remember,
    signed_common,
    unsigned_common,
)


async def presign(state: SnsState, items: Sequence[tuple[Envelope, Sequence[Binding]]]) -> dict[str, Common]:
    """Sign what `items` will need (see module docstring); returns every needed common
    part by `cache_key` (those found in the cache too), for the transforms to use."""
    jobs: list[tuple[str, Envelope, dict[str, Any], dict[str, Any] | None]] = []
    found: dict[str, Common] = {}
    cache = state.sign_cache
    token = state.token.encode()
    for env, matched in items:
        if M_ID not in env.meta or env.meta.get(M_STATE) != token:
            continue
        protocols = {info["protocol"] for b in matched
                     if type(info := b.args.get("sns")) is dict and needs_signature(info)}
        for protocol in protocols:
            key = cache_key(env, protocol)
            if key in found:
                continue
            hit = cache.get(key)
            if hit is not None:
                found[key] = hit
                continue
            doc, attrs = unsigned_common(env, protocol)
            found[key] = None  # type: ignore[assignment]  # filled below
            jobs.append((key, env, doc, attrs))
    if jobs:
        signatures = await state.sign_pool.sign_many([(doc, doc["SignatureVersion"]) for _, _, doc, _ in jobs])
        for (key, env, doc, attrs), signature in zip(jobs, signatures, strict=True):
            common = found[key] = signed_common(state, env, doc, attrs, signature)
            remember(state, key, common)
    return found
