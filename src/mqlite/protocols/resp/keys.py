"""Redis key <-> mqlite stream name, and the text form of stream IDs in records.

A Redis key that is a valid stream name (`[a-zA-Z0-9._-]{1,249}`, not `.`/`..`) is used
as-is; any other key becomes `__rk.<hex>` (keys starting with the prefix are always
escaped), so the mapping is one-to-one both ways. Pure functions plus a bounded cache.
"""

from __future__ import annotations

import re

from mqlite.protocols.resp.errors import CommandError
from mqlite.protocols.resp.stream_ids import StreamID

_VALID = re.compile(rb"[a-zA-Z0-9._-]{1,249}")
ESCAPE_PREFIX = "__rk."


_NAME_CACHE: dict[bytes, str] = {}


def stream_name(key: bytes) -> str:
    """Redis key -> mqlite stream name (cached; see `_stream_name`)."""
    name = _NAME_CACHE.get(key)
    if name is None:
        name = _stream_name(key)
        if len(_NAME_CACHE) > 10_000:
            _NAME_CACHE.clear()
        _NAME_CACHE[key] = name
    return name


def _stream_name(key: bytes) -> str:
    """Redis key -> mqlite stream name: as-is when a valid stream name, else escaped.

    Stream names allow `[a-zA-Z0-9._-]`; other keys (`orders:eu`) become
    `__rk.<hex>`, and keys that start with the prefix are always escaped, so the
    mapping is one-to-one both ways.
    """
    if _VALID.fullmatch(key) and key not in (b".", b"..") and not key.startswith(b"__rk."):
        return key.decode()
    name = ESCAPE_PREFIX + key.hex()
    if len(name) > 249:
        raise CommandError("ERR key too long for a stream name (at most 122 bytes)")
    return name


def key_of(name: str) -> bytes:
    """mqlite stream name -> Redis key (inverse of `stream_name`)."""
    if name.startswith(ESCAPE_PREFIX):
        try:
            return bytes.fromhex(name[len(ESCAPE_PREFIX) :])
        except ValueError:
            pass
    return name.encode()


def parse_id(text: bytes | str) -> StreamID:
    if isinstance(text, bytes):
        text = text.decode()
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))


def id_str(s: StreamID) -> str:
    return f"{s[0]}-{s[1]}"


def latin1(b: bytes) -> str:
    return b.decode("latin-1")


__all__ = ["ESCAPE_PREFIX", "id_str", "key_of", "latin1", "parse_id", "stream_name"]
