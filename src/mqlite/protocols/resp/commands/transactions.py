"""MULTI, EXEC, DISCARD, WATCH, UNWATCH: Redis transactions.

MULTI queues every later command (replying `+QUEUED`) until EXEC runs them in order,
with no other client's command in between (one event loop, and EXEC does not yield
between commands that do not need to), replying an array of their replies; a command
that failed to queue (unknown, wrong arity) makes EXEC answer `-EXECABORT`. Blocking
reads inside a transaction do not block (Redis's rule). WATCH records each key's
stream object and change counter; EXEC answers a null array (nothing run) when any
watched key changed, was created or was deleted since (optimistic locking).
State touched: the calling connection (`conn.multi`, `conn.multi_dirty`, `conn.watched`).
"""

from __future__ import annotations

import asyncio
from types import CoroutineType
from typing import Any

from mqlite.protocols.resp.codec import NULL_ARRAY, OK, Deferred, Error
from mqlite.protocols.resp.commands import command
from mqlite.protocols.resp.errors import CommandError
from mqlite.protocols.resp.store import stream_name

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


@command("multi", 1, group="transactions")
def multi(conn: Any, argv: list[bytes]) -> Any:
    """MULTI: start queueing commands."""
    if conn.multi is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    conn.multi = []
    conn.multi_dirty = False
    return OK


@command("discard", 1, group="transactions")
def discard(conn: Any, argv: list[bytes]) -> Any:
    """DISCARD: drop the queued commands."""
    if conn.multi is None:
        raise CommandError("ERR DISCARD without MULTI")
    conn.multi = None
    conn.watched = {}
    return OK


@command("exec", 1, group="transactions")
def exec_(conn: Any, argv: list[bytes]) -> Any:
    """EXEC: run the queued commands; an array of their replies."""
    if conn.multi is None:
        raise CommandError("ERR EXEC without MULTI")
    queued, conn.multi = conn.multi, None
    watched, conn.watched = conn.watched, {}
    if conn.multi_dirty:
        return Error(EXECABORT)
    if any(_snapshot(conn, name) != seen for name, seen in watched.items()):
        return NULL_ARRAY  # a watched key changed: the transaction is not run
    results: list[Any] = []
    conn.no_block = True
    try:
        for i, cmd in enumerate(queued):
            result = conn.execute(cmd)
            if type(result) is Deferred:  # EXEC replies once every write is done
                result = _when_done(result)
            if type(result) is CoroutineType:
                return _finish(conn, results, result, queued[i + 1 :])
            results.append(result)
    finally:
        conn.no_block = False
    return results


async def _finish(conn: Any, results: list[Any], pending: Any, rest: list[list[bytes]]) -> list[Any]:
    """The rest of an EXEC after a command that must await (DEL, FLUSHDB)."""
    conn.no_block = True
    try:
        results.append(await _reply(pending))
        for cmd in rest:
            result = conn.execute(cmd)
            if type(result) is Deferred:
                result = _when_done(result)
            if type(result) is CoroutineType:
                result = await _reply(result)
            results.append(result)
    finally:
        conn.no_block = False
    return results


async def _when_done(deferred: Deferred) -> Any:
    await asyncio.shield(deferred.done)
    return deferred.reply


async def _reply(coro: Any) -> Any:
    try:
        return await coro
    except CommandError as exc:
        return Error(exc.text)


def _snapshot(conn: Any, name: str) -> tuple[int, int]:
    rs = conn.state.store.get(name)
    return (0, -1) if rs is None else (id(rs), rs.version)


@command("watch", -2, group="transactions", keys=(1, -1, 1))
def watch(conn: Any, argv: list[bytes]) -> Any:
    """WATCH key [key ...]: EXEC runs only if none of the keys changes meanwhile."""
    if conn.multi is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    for raw in argv[1:]:
        name = stream_name(raw)
        conn.watched.setdefault(name, _snapshot(conn, name))
    return OK


@command("unwatch", 1, group="transactions")
def unwatch(conn: Any, argv: list[bytes]) -> Any:
    """UNWATCH: forget the watched keys."""
    conn.watched = {}
    return OK
