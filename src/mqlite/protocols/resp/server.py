"""Redis RESP2/RESP3 listener: connections, pipelining, dispatch, pub/sub delivery.

Owns `start(core, settings, host, port) -> Listener` and `RespConnection`, one per
client. Bytes go through `codec.RequestParser`; each complete command runs in arrival
order. A command whose handler returns an awaitable (XREAD/XREADGROUP BLOCK) makes the
connection busy: later pipelined commands queue (reading pauses past a backlog) and run
after it, so replies stay in request order, as in Redis. A `Deferred` reply (a write
command that replies once its record is in the log) does not stop the run: the
commands after it run too, and the run's replies are sent, in order, once the writes
they report are done. Replies produced by one read are written with one `write`.

Rules kept here (Redis's `processCommand`): unknown command and arity errors with
Redis's texts; `NOAUTH` before AUTH when a password is set; in RESP2 a subscribed client
may only run (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET; a protocol error replies
`-ERR Protocol error: ...` after the commands before it, then closes that connection.
Pub/sub messages are pushed in order with replies; a subscriber whose unsent output
exceeds the pub/sub output-buffer limit (`settings.redis_pubsub_buffer_bytes`, or
`CONFIG SET client-output-buffer-limit "pubsub <hard> ..."`) is disconnected, like
Redis's `client-output-buffer-limit pubsub`. Requests are bounded as in Redis
(`proto-max-bulk-len`, `client-query-buffer-limit`, and 10 arguments of 16 KiB before
AUTH when a password is set: `codec.RequestParser`), and the bytes of partial commands
count against the server's read budget (`read_budget.py`).
Concurrency: one event loop; `ServerState` (state.py) is shared by the connections of a listener.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections import deque
from time import perf_counter_ns
from types import CoroutineType
from typing import Any

from mqlite.core import alarms
from mqlite.core.api import BrokerCore
from mqlite.protocols import limits
from mqlite.protocols.resp import codec
from mqlite.protocols.resp.access import denial
from mqlite.protocols.resp.codec import Deferred, Error, Raw, encode
from mqlite.protocols.resp.commands import BY_SPELLING, COMMANDS, Command
from mqlite.protocols.resp.errors import (
    NOAUTH,
    misconf,
    subscribed_context,
    to_reply,
    unknown_command,
    wrong_arity,
)
from mqlite.protocols.resp.observed import action_of, error_of
from mqlite.protocols.resp.phase import Phase, check
from mqlite.protocols.resp.state import ServerState
from mqlite.protocols.transport import Connection, ConnectionRegistry, Listener, listen
from mqlite.security import tls
from mqlite.settings import Settings

log = logging.getLogger("mqlite.resp")
MAX_BACKLOG = 10_000  # queued commands before reading pauses


class RespListener(Listener):
    """A `Listener` that writes Redis stream state out when it closes."""

    state: ServerState

    async def close(self) -> None:
        await super().close()
        try:
            await self.state.store.flush()
        except Exception:  # pragma: no cover - shutdown must go on
            log.exception("resp: flushing stream state failed")


class RespConnection(Connection):
    """One Redis client; see module docstring."""

    def __init__(self, registry: ConnectionRegistry, state: ServerState) -> None:
        super().__init__(registry)
        self.state = state
        settings = state.settings
        self.parser = codec.RequestParser(
            int(getattr(settings, "redis_proto_max_bulk_len", codec.PROTO_MAX_BULK_LEN)),
            int(getattr(settings, "redis_client_query_buffer_limit", codec.CLIENT_QUERY_BUFFER_LIMIT)),
            unauth=state.auth_required,
        )
        self.pending: deque[list[bytes]] = deque()
        self.busy = False
        self.running = False
        self.out: list[bytes] = []
        self.resp3 = False
        self._authed = not state.auth_required
        self.phase = Phase.READY if self._authed else Phase.NOAUTH  # see phase.py
        self.auth_failure_logged = False  # a failed AUTH is logged once per connection
        self.noauth_logged = False  # so is a command refused before AUTH
        self.user = "default"
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.db = 0
        self.id = state.next_id
        state.next_id += 1
        self.created = time.time()
        self.last_cmd = b"NULL"
        self.last_time = self.created
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()
        self.blocked_task: asyncio.Task[None] | None = None
        self.blocked_obs: tuple[list[bytes], float] = ([b"?"], 0.0)  # for the request hook
        self.push_buf: list[bytes] = []
        self.push_bytes = 0
        self.push_scheduled = False
        self.soft_since: float | None = None  # when output first went over the soft limit
        self.backlog = self.credit(MAX_BACKLOG + 1, 1)  # lifted when the awaited command ends
        self.multi: list[list[bytes]] | None = None  # MULTI queue
        self.multi_dirty = False
        self.watched: dict[str, tuple[int, int]] = {}  # WATCH: key -> (stream id, version)
        self.no_block = False  # inside EXEC: blocking reads answer at once

    # -- lifecycle --------------------------------------------------------------------
    def on_connect(self) -> None:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:  # replies are small and latency-bound: no Nagle delay
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.state.clients[self.id] = self
        self.state.stats["connections"] += 1

    def on_close(self, exc: Exception | None) -> None:
        self.phase = check(self.phase, Phase.CLOSED)
        self.state.clients.pop(self.id, None)
        self.state.pubsub.drop(self)
        if self.blocked_task is not None and not self.blocked_task.done():
            self.blocked_task.cancel()

    @property
    def principal(self) -> str | None:
        """The authenticated user's name; None while auth is off."""
        return self.user if self.state.auth_required and self.authed else None

    @property
    def subscriptions(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    @property
    def authed(self) -> bool:
        return self._authed

    @authed.setter
    def authed(self, value: bool) -> None:
        # the parser's unauthenticated limits follow the connection's state
        self._authed = value
        self.parser.unauth = not value
        if self.phase in (Phase.NOAUTH, Phase.READY):
            self.phase = check(self.phase, Phase.READY if value else Phase.NOAUTH)

    @property
    def closing(self) -> bool:
        """Replies are being sent and nothing more runs; then the connection closes."""
        return self.phase is Phase.CLOSING or self.phase is Phase.CLOSED

    @closing.setter
    def closing(self, value: bool) -> None:
        if value:
            self.phase = check(self.phase, Phase.CLOSING if not self.closed else Phase.CLOSED)

    @property
    def authenticated(self) -> bool:  # type: ignore[override]
        return self._authed

    @property
    def max_request_bytes(self) -> int:  # type: ignore[override]
        return self.parser.query_buffer_limit

    def held_bytes(self) -> int:
        return self.parser.declared

    # -- input ------------------------------------------------------------------------
    def on_data(self, data: bytes) -> None:
        self.last_time = time.time()
        state = self.state
        state.net_in += len(data)
        state.reads += 1
        parser = self.parser
        while True:
            unauth = parser.unauth
            cmds = parser.feed(data)
            if cmds:
                self.pending.extend(cmds)
            if parser.error is not None:
                if isinstance(parser.error, codec.QueryBufferExceeded):
                    log.warning("resp: closing client %d (%s) that reached max query buffer length (%d bytes)",
                                self.id, self.peername, parser.query_buffer_limit)
                    self.abort()
                    return
                self.pending.append([])  # marker: protocol error after the commands before it
            if not self.busy:
                self._run()
            else:  # commands queued behind one that awaits: reading pauses past MAX_BACKLOG
                self.backlog.update(len(self.pending))
            # unauthenticated: one command per feed, so AUTH lifts the limits for the next
            if not (unauth and cmds) or parser.error is not None or self.closing or self.closed or self.busy:
                return
            data = b""

    def _run(self) -> None:
        self.running = True
        out = self.out
        if self.push_buf:  # pub/sub messages queued earlier go before these replies
            out.extend(self.push_buf)
            self.push_buf = []
            self.push_bytes = 0
        pending = self.pending
        state = self.state
        clock = time.perf_counter
        publish = state.channels.publish
        held: list[Any] = []  # writes that Deferred replies in `out` wait for
        blocked: Any = None  # a command that must await (XREAD BLOCK...): runs last
        fast = self._publish_direct()
        # Pipelined PUBLISH costs about a microsecond: timing each one would cost half as
        # much again, so the fast path counts them and observes the run's mean once
        # (each line is still logged with --log-requests).
        observer = state.observer
        one_by_one = observer.logs_every
        published = 0
        run_started = clock()
        try:
            while pending and not self.closing:
                argv = pending.popleft()
                if fast and len(argv) == 3 and argv[0] in _PUBLISH:
                    # PUBLISH as `execute` would run it, minus the lookups it cannot need
                    state.commands += 1
                    self.last_cmd = b"publish"
                    started = clock() if one_by_one else 0.0
                    try:
                        n = publish(argv[1], argv[2])
                    except Exception as exc:  # noqa: BLE001
                        reply = Error(to_reply(exc)) if _known(exc) else self._internal(exc)
                        self._observe(argv, reply, started or clock())
                        out.append(encode(reply, self.resp3))
                        continue
                    if one_by_one:
                        self._observe(argv, None, started)
                    else:
                        published += 1
                    out.append(_INTS[n] if n < 64 else b":%d\r\n" % n)
                    continue
                if not argv:
                    err = self.parser.error
                    out.append(b"-ERR %s\r\n" % (err.message if err else "Protocol error").encode())
                    self.closing = True
                    break
                started = clock()
                result = self.execute(argv)
                fast = self._publish_direct()  # AUTH, MULTI, SUBSCRIBE... may change it
                t = type(result)
                if t is not CoroutineType and t is not asyncio.Future:
                    self._observe(argv, result, started)
                if t is bytes:
                    out.append(b"$%d\r\n%s\r\n" % (len(result), result))
                elif t is int:
                    out.append(_INTS[result] if 0 <= result < 64 else b":%d\r\n" % result)
                elif t is Raw:
                    out.append(result)  # a pre-encoded reply
                elif result is None:
                    out.append(b"_\r\n" if self.resp3 else b"$-1\r\n")
                elif t is Deferred:
                    out.append(result)  # encoded once its write is done (`_release`)
                    if not result.done.done():
                        held.append(result.done)
                elif t is CoroutineType or t is asyncio.Future:
                    blocked = result
                    self.blocked_obs = (argv, started)
                    break
                else:
                    out.append(encode(result, self.resp3))
        finally:
            self.running = False
            if published:
                observer.many("redis", "PUBLISH", published, (clock() - run_started) / published)
        if held or blocked is not None:
            self.busy = True
            if held:  # replies wait for the writes they report, in request order
                self.out = []
                self.blocked_task = self.loop.create_task(self._release(out, held, blocked))
                return
            self.blocked_task = self.loop.create_task(self._await(blocked))
        if any(type(x) is Deferred for x in out):
            out[:] = [encode(x.reply, self.resp3) if type(x) is Deferred else x for x in out]
        if out:
            self.out = []
            data = b"".join(out) if len(out) > 1 else out[0]
            state.net_out += len(data)
            state.writes += 1
            self.send(data)
            # the client is not reading its replies: stop reading its requests
            self.pause_while_client_buffer_full()
        if self.closing and not self.busy:
            self.close()

    def _observe(self, argv: list[bytes], result: Any, started: float) -> None:
        self.state.observer.done("redis", action_of(argv[0]), argv, self.peername,
                                 error_of(result) if type(result) is Error else None, started)

    def _publish_direct(self) -> bool:
        """Whether PUBLISH would pass every check of `execute` now (authenticated, no
        authorization rules to check, not queuing a MULTI, not in RESP2 subscribed context)."""
        return self.authed and self.multi is None and not self.state.authz.enabled and (
            self.resp3 or not (self.channels or self.patterns or self.shard_channels)
        )

    async def _release(self, out: list[Any], held: list[Any], blocked: Any) -> None:
        """Send the replies of a pipelined run once the writes they report are done,
        then go on (with the command that must await, if the run stopped at one)."""
        # shielded: a closing connection cancels this task, not the store's futures
        await asyncio.gather(*(asyncio.shield(f) for f in held), return_exceptions=True)
        replies = []
        for item in out:
            if type(item) is Deferred:
                exc = item.done.exception() if item.done.done() and not item.done.cancelled() else None
                replies.append(self._error_reply(exc) if exc else encode(item.reply, self.resp3))
            else:
                replies.append(item)
        if self.closed:
            return
        if replies:
            self.send(b"".join(replies))
        if blocked is not None:
            await self._await(blocked)
            return
        self.busy = False
        self.blocked_task = None
        self.backlog.update(0)
        self._run()

    async def _await(self, awaitable: Any) -> None:
        argv, started = self.blocked_obs  # the command that must await, and when it began
        try:
            result = await awaitable
            reply = encode(result, self.resp3)
            self._observe(argv, result, started)
        except asyncio.CancelledError:
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
            reply = self._error_reply(exc)
            self._observe(argv, Error(to_reply(exc)), started)
        self.out.append(reply)
        self.busy = False
        self.blocked_task = None
        if self.closed:
            return
        self.backlog.update(0)
        self._run()

    def _error_reply(self, exc: Exception) -> bytes:
        if not _known(exc) or _storage(exc):
            err = self._internal(exc)
            self.state.count_error(err.text, self.last_cmd, False)
            return encode(err)
        reply = to_reply(exc)
        self.state.count_error(reply, self.last_cmd, False)
        return encode(Error(reply))

    # -- dispatch ---------------------------------------------------------------------
    def execute(self, argv: list[bytes]) -> Any:
        state = self.state
        cmd: Command | None = BY_SPELLING.get(argv[0])
        if cmd is None:
            cmd = COMMANDS.get(argv[0].lower())
        name = argv[0] if cmd is None else cmd.key
        state.commands += 1
        self.last_cmd = name
        if cmd is None:
            state.stats["rejected"] += 1
            self.multi_dirty = self.multi is not None
            return self._rejected(unknown_command(argv).text, None)
        n = len(argv)
        if (cmd.arity > 0 and n != cmd.arity) or (cmd.arity < 0 and n < -cmd.arity):
            state.stats["rejected"] += 1
            self.multi_dirty = self.multi is not None
            return self._rejected(wrong_arity(cmd.name).text, name)
        if not self.authed and not cmd.noauth:
            if not self.noauth_logged:
                self.noauth_logged = True
                log.info("redis %s: %s before AUTH; refused (NOAUTH)", self.peername, cmd.name)
            return self._rejected(NOAUTH, name)
        if state.authz.enabled:
            refused = denial(self, cmd, argv)
            if refused is not None:
                self.multi_dirty = self.multi is not None
                return self._rejected(refused, name)
        if self.multi is not None and name not in _NOT_QUEUED and not self.no_block:
            self.multi.append(argv)
            return _QUEUED
        if not self.resp3 and (self.channels or self.patterns or self.shard_channels) and not cmd.pubsub_ok:
            return self._rejected(subscribed_context(cmd.name).text, name)
        st = state.cmdstats.get(name)
        if st is None:
            st = state.cmdstats[name] = [0, 0, 0, 0]
        st[0] += 1
        t0 = perf_counter_ns()
        try:
            return cmd.handler(self, argv)
        except Exception as exc:  # noqa: BLE001
            err = Error(to_reply(exc)) if _known(exc) and not _storage(exc) else self._internal(exc)
            state.count_error(err.text, name, False)
            return err
        finally:
            st[1] += (perf_counter_ns() - t0) // 1000

    def _rejected(self, reply: str, name: bytes | None) -> Error:
        self.state.count_error(reply, name, True)
        return Error(reply)

    def _internal(self, exc: Exception) -> Error:
        reason = alarms.note_failure(self.state.core, exc)
        if reason is not None:  # Redis refuses writes it cannot persist with MISCONF
            return Error(misconf(exc))
        log.exception("resp: command %r failed", self.last_cmd, exc_info=exc)
        return Error(to_reply(exc))

    # -- core.channels Subscriber ---------------------------------------------------
    def deliver(self, kind: str, channel: bytes, payload: bytes, pattern: bytes | None) -> bool:
        """Queue one pub/sub message; False when over the pubsub output-buffer limit."""
        if self.closed:
            return True
        data = _push_bytes(kind, channel, payload, pattern, self.resp3)
        if self.running:
            self.out.append(data)  # keeps order with the reply being built
            return True
        state = self.state
        self.push_bytes += len(data)
        pending = self.write_buffer_size + self.push_bytes
        if state.pubsub_limit and pending > state.pubsub_limit:
            return False
        if state.pubsub_soft_limit and pending > state.pubsub_soft_limit:
            now = self.loop.time()
            if self.soft_since is None:
                self.soft_since = now
            elif now - self.soft_since >= state.pubsub_soft_seconds:
                return False
        elif self.soft_since is not None:
            self.soft_since = None
        self.push_buf.append(data)
        if not self.push_scheduled:
            self.push_scheduled = True
            self.loop.call_soon(self._flush_pushes)
        return True

    def _flush_pushes(self) -> None:
        self.push_scheduled = False
        buf, self.push_buf = self.push_buf, []
        self.push_bytes = 0
        if buf:
            data = b"".join(buf)
            self.state.net_out += len(data)
            self.send(data)

    def cut_off(self, reason: str) -> None:
        log.info("resp: client %d cut off: %s", self.id, reason)
        self.state.stats["cut_off"] += 1
        self.channels.clear()
        self.patterns.clear()
        self.shard_channels.clear()
        self.push_buf = []
        self._reset_on_close()
        self.abort()

    def _reset_on_close(self) -> None:
        """SO_LINGER 0: drop what the kernel still holds for this peer (send RST)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass

    def kill(self) -> None:
        """CLIENT KILL: close now, or right after the reply being built (killing self)."""
        if self.running:
            self.closing = True
        else:
            self.close()


# One publish calls `deliver` for every subscriber with the same objects: encode once.
_push_cache: list[Any] = [None, None, None, None, None, None]


def _push_bytes(kind: str, channel: bytes, payload: bytes, pattern: bytes | None, resp3: bool) -> bytes:
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


_PUBLISH = frozenset((b"PUBLISH", b"publish"))
_INTS = tuple(b":%d\r\n" % i for i in range(64))  # pre-encoded small integer replies
_NOT_QUEUED = frozenset((b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"))
_QUEUED = Raw(b"+QUEUED\r\n")


def _storage(exc: Exception) -> bool:
    return alarms.storage_failure(exc) is not None


def _known(exc: Exception) -> bool:
    from mqlite.errors import MqliteError

    return isinstance(exc, MqliteError)


async def start(core: BrokerCore, settings: Settings, host: str, port: int) -> Listener:
    """Serve Redis RESP on `host:port` for `core` (the contract `mqlite.server` calls)."""
    state = ServerState(core, settings)
    listener = await listen("redis", host, port, lambda registry: RespConnection(registry, state),
                            ssl_context=tls.server_context(settings), owner=core,
                            limits=limits.for_server(core, settings))
    rl = RespListener(listener.name, listener.server, listener.registry)
    rl.state = state
    return rl
