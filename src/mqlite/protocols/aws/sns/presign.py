"""Signing ahead of delivery: a batch's RSA signatures, inline or on worker threads.

`presign(state, items)` takes the messages of one fan-out batch with their matched
bindings, finds the notifications that will need a signature (`needs_signature`: a
confirmed subscription that gets the JSON envelope; raw deliveries never do) and are not
in `state.sign_cache` yet, signs them, and stores the completed common parts in the
cache, so the `sns` transforms that run next only copy them. By default every signature
is computed inline (`MIN_OFFLOAD = None`). With `MIN_OFFLOAD = n`, batches of n or more
signatures are split over `WORKERS` threads (OpenSSL releases the GIL while signing) so
the loop can decode requests meanwhile; measured on the shared, loaded 2-core machine
(docs/benchmarks.md, SNS) that lost ~10-35% of PublishBatch throughput and CPU
efficiency - each worker must win the GIL back from the busy loop (5 ms switch
interval) - so it is off; it may pay where cores are idle.
Invariant: a notification is signed at most once per message and protocol variant while
it is cached; presign never changes what a transform produces (only when it is computed).
Concurrency: called on the core loop; the worker threads only read the job documents
(built before and not touched until the signatures are back) and the immutable key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.sns.envelope import (
    M_ID,
    M_STATE,
    cache_key,
    needs_signature,
    remember,
    signed_common,
    unsigned_common,
)

WORKERS = 2
MIN_OFFLOAD: int | None = None  # None: always inline; n: offload batches of >= n signatures
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="mqlite-sns-sign")
    return _POOL


async def presign(state: SnsState, items: Sequence[tuple[Envelope, Sequence[Binding]]]) -> int:
    """Sign what `items` will need (see module docstring); returns how many were signed."""
    jobs: list[tuple[str, Envelope, dict[str, Any], dict[str, Any] | None]] = []
    seen: set[str] = set()
    cache = state.sign_cache
    token = state.token.encode()
    for env, matched in items:
        if M_ID not in env.meta or env.meta.get(M_STATE) != token:
            continue
        for b in matched:
            info = b.args.get("sns")
            if not isinstance(info, dict) or not needs_signature(info):
                continue
            key = cache_key(env, info["protocol"])
            if key in seen or key in cache:
                continue
            seen.add(key)
            doc, attrs = unsigned_common(env, info["protocol"])
            jobs.append((key, env, doc, attrs))
    if not jobs:
        return 0
    signer = state.signer
    work = [(doc, doc["SignatureVersion"]) for _, _, doc, _ in jobs]
    if MIN_OFFLOAD is None or len(jobs) < MIN_OFFLOAD:
        signatures = signer.sign_many(work)
    else:
        loop = asyncio.get_running_loop()
        half = (len(work) + 1) // 2
        parts = await asyncio.gather(*(
            loop.run_in_executor(_pool(), signer.sign_many, chunk)
            for chunk in (work[:half], work[half:]) if chunk))
        signatures = [sig for part in parts for sig in part]
    for (key, env, doc, attrs), signature in zip(jobs, signatures, strict=True):
        remember(state, key, signed_common(state, env, doc, attrs, signature))
    return len(jobs)
