"""Pub/sub push messages as RESP2 arrays or RESP3 pushes, encoded once per publish.

`push_bytes(kind, channel, payload, pattern, resp3)`: a `message`/`smessage` (or, with
a pattern, `pmessage`) frame. One publish calls it for every subscriber with the same
objects, so the last frame of each protocol version is cached by identity.
Concurrency: the server's one event loop (the cache is not thread-safe).
"""

from __future__ import annotations

from typing import Any

# One publish calls `deliver` for every subscriber with the same objects: encode once.
_push_cache: list[Any] = [None, None, None, None, None, None]


def push_bytes(kind: str, channel: bytes, payload: bytes, pattern: bytes | None, resp3: bool) -> bytes:
    c = _push_cache
    if c[0] is payload and c[1] is channel and c[2] is pattern and c[3] == kind:
        cached = c[5] if resp3 else c[4]
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    else:
        c[0], c[1], c[2], c[3], c[4], c[5] = payload, channel, pattern, kind, None, None
    head = b">" if resp3 else b"*"
    if pattern is None:
        k = kind.encode()
        data = b"%s3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            head, len(k), k, len(channel), channel, len(payload), payload)
    else:
        data = b"%s4\r\n$8\r\npmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            head, len(pattern), pattern, len(channel), channel, len(payload), payload)
    c[5 if resp3 else 4] = data
    return data


__all__ = ["push_bytes"]
