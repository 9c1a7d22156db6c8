"""XADD, XLEN, XRANGE, XREVRANGE, XREAD, XDEL, XTRIM, XSETID: Redis streams.

Follows Redis's `t_stream.c` replies and errors: entries reply as `[id, [f, v, ...]]`;
XREAD replies `[[key, entries], ...]` (a map in RESP3) or a null array when nothing
arrived; `BLOCK 0` waits forever and is woken by XADD on any of the keys (the reply
then holds only the keys with new entries). Trimming (MAXLEN/MINID, `=` and `~`,
LIMIT) is exact for `=`; `~` trims whole 100-entry nodes, as Redis does with its
default stream-node-max-entries, at most LIMIT entries (LIMIT 0: no limit).
Every mutation is journaled through `store` (see store.py) before the reply is sent.
State touched: the stream store; blocking uses the store's waiters.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mqlite.protocols.resp import stream_ids as ids
from mqlite.protocols.resp.codec import NULL_ARRAY, OK, Deferred, Map, Raw
from mqlite.protocols.resp.commands import command, to_int
from mqlite.protocols.resp.errors import (
    TIMEOUT_INVALID,
    TIMEOUT_NEG,
    CommandError,
    syntax,
    wrong_arity,
)
from mqlite.protocols.resp.model import RedisStream, encode_fields
from mqlite.protocols.resp.store import StreamStore, stream_name
from mqlite.protocols.resp.stream_ids import StreamID, fmt

MAX_BLOCK_S = 10 * 365 * 24 * 3600.0
NODE_ENTRIES = 100  # Redis's stream-node-max-entries: the unit of `~` trimming


def get_stream(conn: Any, raw_key: bytes, create: bool = False) -> RedisStream | None:
    store: StreamStore = conn.state.store
    return store.get(stream_name(raw_key), create=create)


def entry_reply(rs: RedisStream, sid: StreamID) -> list[Any]:
    """`[id, [f, v, ...]]`, or `[id, nil]` for a deleted entry."""
    return [fmt(sid), rs.fields(sid)]


def entries_reply(rs: RedisStream, positions: list[int]) -> Any:
    """`[[id, [f, v, ...]], ...]` of index positions (values read from the log),
    pre-encoded: arrays of bulk strings read the same in RESP2 and RESP3."""
    if not positions:
        return []
    ms, seq = rs.ms, rs.seq
    out = [b"*%d\r\n" % len(positions)]
    add = out.append
    for p, fields in zip(positions, rs.values(positions)):
        sid = b"%d-%d" % (ms[p], seq[p])
        if fields is None:  # not readable (cut meanwhile): no fields
            add(b"*2\r\n$%d\r\n%s\r\n*0\r\n" % (len(sid), sid))
            continue
        add(b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(sid), sid, len(fields)))
        out += [b"$%d\r\n%s\r\n" % (len(f), f) for f in fields]
    return Raw(b"".join(out))


def now_ms(conn: Any) -> int:
    return int(conn.state.core.clock.now_ms())


# -- trimming ---------------------------------------------------------------------------
class TrimSpec:
    __slots__ = ("approx", "limit", "maxlen", "minid")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: StreamID | None = None
        self.approx = False
        self.limit: int | None = None


def parse_trim(argv: list[bytes], i: int, spec: TrimSpec, cmd: str) -> int:
    """Parse `MAXLEN|MINID [=|~] threshold` at argv[i]; returns the next index."""
    kind = argv[i].lower()
    i += 1
    if i >= len(argv):
        raise syntax()
    if argv[i] in (b"=", b"~"):
        spec.approx = argv[i] == b"~"
        i += 1
        if i >= len(argv):
            raise syntax()
    if kind == b"maxlen":
        n = to_int(argv[i])
        if n < 0:
            raise CommandError("ERR The MAXLEN argument must be >= 0.")
        spec.maxlen = n
    else:
        spec.minid = ids.parse(argv[i], 0, strict=True)
    return i + 1


def check_limit(spec: TrimSpec) -> None:
    if spec.limit is not None and not spec.approx:
        raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ option")


def trim(conn: Any, rs: RedisStream, spec: TrimSpec) -> int:
    if spec.maxlen is not None:
        count = max(0, len(rs) - spec.maxlen)
    elif spec.minid is not None:
        count = rs.count_below(spec.minid)
    else:
        return 0
    if spec.approx:
        # `~`: Redis removes only whole radix-tree nodes (stream-node-max-entries = 100
        # entries each), at most LIMIT entries (default 100 * 100)
        limit = spec.limit if spec.limit is not None else 100 * NODE_ENTRIES
        if limit:
            count = min(count, limit)
        if count < len(rs):  # trimming all: every node goes whole, the partial tail one too
            count -= count % NODE_ENTRIES
    if count <= 0:
        return 0
    removed = rs.trim_before(count)
    nxt = rs.first_live() or ids.incr(rs.last_id) or rs.last_id
    ts = now_ms(conn)
    conn.state.store.journal_op(rs, b"trim", fmt(nxt), ts)
    conn.state.store.trimmed(rs, ts)
    return removed


# -- XADD -------------------------------------------------------------------------------
@command("xadd", -5, group="stream", keys=(1, 1, 1), flags=("write", "denyoom", "fast"))
def xadd(conn: Any, argv: list[bytes]) -> Any:
    """XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [...]"""
    n = len(argv)
    nomk = False
    spec: TrimSpec | None = None
    i = 2
    if argv[2] != b"*" or n % 2 == 0:  # options present (or an arity error)
        spec = TrimSpec()
        while i < n:
            opt = argv[i].lower()
            if opt == b"nomkstream":
                nomk = True
                i += 1
            elif opt in (b"maxlen", b"minid") and i + 1 < n:
                i = parse_trim(argv, i, spec, "xadd")
            elif opt == b"limit" and i + 1 < n:
                spec.limit = to_int(argv[i + 1])
                if spec.limit < 0:
                    raise CommandError("ERR The LIMIT argument must be >= 0.")
                i += 2
            else:
                break
        if i >= n or (n - i - 1) < 2 or (n - i - 1) % 2:
            raise wrong_arity("xadd")
        check_limit(spec)
    state = conn.state
    store: StreamStore = state.store
    name = stream_name(argv[1])
    rs = store.streams.get(name)
    if rs is None:
        ids.XaddID(argv[i])  # validate the ID before creating anything
        if nomk and not store.exists(name):
            return None
        rs = store.get(name, create=True)
        assert rs is not None
    ts = state.clock.now_ms()
    raw_id = argv[i]
    last = rs.last_id
    if raw_id == b"*" and ts > last[0]:  # the usual cases, inline
        sid: StreamID = (ts, 0)
    elif raw_id == b"*" and last[1] < ids.UINT64_MAX:
        sid = (last[0], last[1] + 1)
    else:
        sid = ids.XaddID(raw_id).next_id(last, ts)
    value = encode_fields(argv[i + 1 :])
    if len(value) > rs.max_value:
        raise CommandError(
            f"ERR entry of {len(value)} bytes is over the stream's max.message.bytes "
            f"({rs.max_value} bytes of fields)"
        )
    rs.append_new(sid, value)  # `sid` is above every ID so far (checked just above)
    text = b"%d-%d" % sid
    store.journal_add(rs, sid, text, value, ts)
    if spec is not None and (spec.maxlen is not None or spec.minid is not None):
        trim(conn, rs, spec)
    if name in store.waiting:
        store.notify(name)
    return logged(conn, name, text)


def logged(conn: Any, name: str, reply: Any) -> Any:
    """The reply, sent once the records just journaled for `name` are in the log
    (fsynced under `--fsync always`, Redis's `appendfsync always`; written otherwise)."""
    if conn.state.durable_replies:
        return Deferred(conn.state.store.durable(name), reply)
    return reply


@command("xlen", 2, group="stream", keys=(1, 1, 1), flags=("readonly", "fast"))
def xlen(conn: Any, argv: list[bytes]) -> Any:
    """XLEN key: the number of entries."""
    rs = get_stream(conn, argv[1])
    return len(rs) if rs is not None else 0


def _range(conn: Any, argv: list[bytes], rev: bool) -> Any:
    if rev:
        end, start = ids.parse_range_end(argv[2]), ids.parse_range_start(argv[3])
    else:
        start, end = ids.parse_range_start(argv[2]), ids.parse_range_end(argv[3])
    count = 0
    if len(argv) > 4:
        if len(argv) != 6 or argv[4].lower() != b"count":
            raise syntax()
        count = to_int(argv[5])
        if count < 0:
            return NULL_ARRAY  # Redis: a negative COUNT is a null reply
        if count == 0:
            return []
    rs = get_stream(conn, argv[1])
    if rs is None:
        return []
    return entries_reply(rs, rs.range(start, end, count, rev))


@command("xrange", -4, group="stream", keys=(1, 1, 1), flags=("readonly",))
def xrange(conn: Any, argv: list[bytes]) -> Any:
    """XRANGE key start end [COUNT count]: entries with IDs in [start, end]."""
    return _range(conn, argv, False)


@command("xrevrange", -4, group="stream", keys=(1, 1, 1), flags=("readonly",))
def xrevrange(conn: Any, argv: list[bytes]) -> Any:
    """XREVRANGE key end start [COUNT count]: XRANGE in reverse order."""
    return _range(conn, argv, True)


# -- XREAD ------------------------------------------------------------------------------
def parse_block(raw: bytes) -> float:
    try:
        ms = to_int(raw, TIMEOUT_INVALID)
    except CommandError:
        raise CommandError(TIMEOUT_INVALID) from None
    if ms < 0:
        raise CommandError(TIMEOUT_NEG)
    return MAX_BLOCK_S if ms == 0 else ms / 1000.0


def read_options(argv: list[bytes], i: int, cmd: str, noack_allowed: bool = False
                 ) -> tuple[int, float | None, bool, list[bytes], list[bytes]]:
    """XREAD's and XREADGROUP's `[COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...` from
    argv[i]: (count, block seconds or None, noack, keys, ids); NOACK only if allowed."""
    count = 0
    block: float | None = None
    noack = False
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"count" and i + 1 < len(argv):
            count = max(0, to_int(argv[i + 1]))
            i += 2
        elif opt == b"block" and i + 1 < len(argv):
            block = parse_block(argv[i + 1])
            i += 2
        elif opt == b"noack" and noack_allowed:
            noack = True
            i += 1
        elif opt == b"streams":
            i += 1
            break
        else:
            raise syntax()
    else:
        raise syntax()
    keys, raw_ids = split_streams(argv, i, cmd)
    return count, block, noack, keys, raw_ids


def split_streams(argv: list[bytes], i: int, cmd: str) -> tuple[list[bytes], list[bytes]]:
    rest = argv[i:]
    if not rest or len(rest) % 2:
        raise CommandError(
            f"ERR Unbalanced '{cmd}' list of streams: for each stream key an ID or '$' must be specified."
        )
    half = len(rest) // 2
    return rest[:half], rest[half:]


def read_reply(conn: Any, results: list[tuple[bytes, list[Any]]]) -> Any:
    if conn.resp3:
        return Map(results)
    return [[k, v] for k, v in results]


async def block_until(conn: Any, names: list[str], timeout: float, attempt: Any) -> Any:
    """Re-run `attempt()` on each change of `names` until it returns non-None or timeout.

    A change is an XADD/XDEL/... through Redis (the store's waiters) or a record
    appended to the stream's log by another front-end (`Stream.wait_for_data`).
    """
    store: StreamStore = conn.state.store
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return NULL_ARRAY
        fut = store.waiter(names)
        waits: list[asyncio.Future[Any]] = [fut]
        for name in names:
            rs = store.streams.get(name)
            stream = store.core_stream_if_exists(name)
            if rs is not None and stream is not None:
                waits.append(asyncio.ensure_future(stream.wait_for_data({0: rs.log_end}, remaining)))
        try:
            await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            store.forget(names, fut)
            for w in waits[1:]:
                w.cancel()
        result = attempt()
        if result is not None:
            return result


@command("xread", -4, group="stream", keys=(0, 0, 0), flags=("readonly", "blocking"))
def xread(conn: Any, argv: list[bytes]) -> Any:
    """XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]"""
    count, block, _, keys, raw_ids = read_options(argv, 1, "xread")
    store: StreamStore = conn.state.store
    names = [stream_name(k) for k in keys]
    starts: list[StreamID] = []
    for name, raw in zip(names, raw_ids):
        rs = store.get(name)
        if raw == b"$":
            starts.append(rs.last_id if rs is not None else ids.MIN_ID)
        elif raw == b"+":
            top = rs.last_live() if rs is not None else None
            if top is not None:
                starts.append(ids.decr(top) or ids.MIN_ID)
            else:
                starts.append(rs.last_id if rs is not None else ids.MIN_ID)
        else:
            starts.append(ids.parse(raw, 0, strict=True))

    def attempt() -> Any:
        results = []
        for k, name, start in zip(keys, names, starts):
            rs = store.get(name)  # also catches up with other front-ends' records
            if rs is None:
                continue
            got = rs.after(start, count)
            if got:
                results.append((k, entries_reply(rs, got)))
        return read_reply(conn, results) if results else None

    result = attempt()
    if result is not None:
        return result
    if block is None or conn.no_block:
        return NULL_ARRAY
    return block_until(conn, names, block, attempt)


# -- XDEL / XTRIM / XSETID --------------------------------------------------------------
@command("xdel", -3, group="stream", keys=(1, 1, 1), flags=("write", "fast"))
def xdel(conn: Any, argv: list[bytes]) -> Any:
    """XDEL key id [id ...]: delete entries; returns how many existed."""
    parsed = [ids.parse(raw, 0, strict=True) for raw in argv[2:]]
    rs = get_stream(conn, argv[1])
    if rs is None:
        return 0
    deleted = [sid for sid in parsed if rs.delete(sid)]
    if deleted:
        conn.state.store.journal_op(rs, b"del", b" ".join(fmt(s) for s in deleted), now_ms(conn))
        return logged(conn, rs.name, len(deleted))
    return 0


@command("xtrim", -4, group="stream", keys=(1, 1, 1), flags=("write",))
def xtrim(conn: Any, argv: list[bytes]) -> Any:
    """XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]: trim; returns removed count."""
    spec = TrimSpec()
    if argv[2].lower() not in (b"maxlen", b"minid"):
        raise syntax()
    i = parse_trim(argv, 2, spec, "xtrim")
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            spec.limit = to_int(argv[i + 1])
            if spec.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            i += 2
        else:
            raise syntax()
    check_limit(spec)
    rs = get_stream(conn, argv[1])
    if rs is None:
        return 0
    removed = trim(conn, rs, spec)
    return logged(conn, rs.name, removed) if removed else removed


@command("xsetid", -3, group="stream", keys=(1, 1, 1), flags=("write",))
def xsetid(conn: Any, argv: list[bytes]) -> Any:
    """XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"""
    last = ids.parse(argv[2], 0, strict=True)
    added: int | None = None
    maxdel: StreamID | None = None
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"entriesadded" and i + 1 < len(argv):
            added = to_int(argv[i + 1])
            if added < 0:
                raise CommandError("ERR entries_added must be positive")
            i += 2
        elif opt == b"maxdeletedid" and i + 1 < len(argv):
            maxdel = ids.parse(argv[i + 1], 0, strict=True)
            if last < maxdel:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
            i += 2
        else:
            raise syntax()
    rs = get_stream(conn, argv[1])
    if rs is None:
        raise CommandError("ERR no such key")
    top = rs.last_live()
    if top is not None and last < top:
        raise CommandError("ERR The ID specified in XSETID is smaller than the target stream top item")
    if added is not None and len(rs) > added:
        raise CommandError("ERR The entries_added specified in XSETID is smaller than the target stream length")
    rs.last_id = last
    if added is not None:
        rs.entries_added = added
    if maxdel is not None:
        rs.max_deleted_id = maxdel
    conn.state.store.journal_setid(rs, now_ms(conn))
    return logged(conn, rs.name, OK)

