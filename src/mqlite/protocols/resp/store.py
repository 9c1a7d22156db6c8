"""Redis streams over mqlite streams: loading, journaling and group-state persistence.

Owns the mapping "Redis stream key = mqlite stream with one partition" and the
durability of everything in `model.RedisStream`:

- Entries are records of the core stream's partition 0. An XADD record carries the
  header `redis-id` = `<ms>-<seq>` and its value is the field/value pairs:

      value := ( u32be len | bytes )*       # field, value, field, value, ...

  A record written by another front-end (Kafka, Kinesis) has no `redis-id`; it reads as
  the ID `<timestamp>-<n>` (n keeps IDs increasing) with the fields `key` (if any) and
  `value`.
- Other mutations are bookkeeping records with the header `redis-op`:
  `del` (value: IDs, space separated), `trim` (value: the new first ID, exclusive of
  everything below), `setid` (value: `<last-id> <entries-added> <max-deleted-id>`).
  They are written in Kafka *control batches* (`encode_batch(is_control=True)`) with
  the key `CONTROL_KEY` = version 0 + type `CONTROL_TYPE` (int16 each: a well-formed
  control record key of a type no Kafka marker uses), so Kafka consumers skip them by
  the protocol (checked with kafka-python, aiokafka and confluent-kafka) and core
  reads (`Stream.read`: Kinesis, Firehose...) skip them by default; this store reads
  them with `include_control=True`. Data dirs written before kept them as plain
  records; `_replay` recognises both by the header.
  Replaying the log in order rebuilds the ID index exactly (`model.RedisStream`: IDs
  and log offsets only, 24 bytes per entry; field/values stay in the log and are read
  back on XRANGE/XREAD/XREADGROUP/XCLAIM...). The log is cut below the first live
  entry once trimming freed RECLAIM_MIN_RECORDS records (after a `setid` snapshot).
- Consumer-group state lives in the catalog kv namespace `resp/groups`, key = stream
  name, value = JSON of the stream's groups (last-id, entries-read, PEL, consumers).
  A change marks the stream dirty; one flush writes every dirty stream in ONE catalog
  transaction. Group changes (XGROUP, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM) are
  flushed on the next loop iteration (the changes of all commands handled in one
  iteration share one commit) and those commands reply only after it committed
  (`groups_durable`), in every fsync mode, as Redis writes its AOF before replying: a
  killed process loses nothing acknowledged. The commit's durability against power
  loss follows `--fsync` (SQLite FULL under `always`; under an interval the catalog's
  WAL is fsynced each interval by the group committer). Close writes everything.

Appends are queued per stream and written by one writer task in ID order, in batches;
XADD replies once its record is in the log (`durable`: the page cache, or fsynced
under `--fsync always`); `flush()` waits for every queued write.
Concurrency: everything runs on the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from mqlite.core.api import BrokerCore, Selection, Stream
from mqlite.core.errors import StreamNotFound
from mqlite.core.reset import on_reset
from mqlite.protocols.resp.group_state import dump_group, load_group
from mqlite.protocols.resp.keys import ESCAPE_PREFIX, key_of, parse_id, stream_name
from mqlite.protocols.resp.model import (
    ID_HEADER,
    RedisStream,
    decode_fields,
    encode_fields,
)
from mqlite.protocols.resp.stream_ids import MIN_ID, StreamID, fmt
from mqlite.storage.recordbatch import encode_batch

log = logging.getLogger("mqlite.resp.store")
GROUPS_NS = "resp/groups"
OP_HEADER = "redis-op"
CONTROL_TYPE = 0x5244  # "RD": not a Kafka ControlRecordType (0 abort, 1 commit, 2-6 KRaft)
CONTROL_KEY = struct.pack(">hh", 0, CONTROL_TYPE)  # control record key: version, type
BATCH_BYTES = 256 * 1024  # journal batches stay well under the log's max batch bytes
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # max.message.bytes of streams created through Redis
RECLAIM_MIN_RECORDS = 10_000  # cut the log after trims only in steps of this many records
RECORD_OVERHEAD = 1024  # batch header + record framing + the redis-id header, generously


class StreamStore:
    """All Redis stream keys of one server; see module docstring."""

    def __init__(self, core: BrokerCore, fsync: str = "never") -> None:
        self.core = core  # `fsync` is kept for callers; every policy replies once written
        self._groups_done: asyncio.Future[None] | None = None
        self.streams: dict[str, RedisStream] = {}
        # per stream: records waiting for the writer, as storage's RecordIn tuples (key:
        # None for an entry, CONTROL_KEY for bookkeeping)
        self._queues: dict[str, list[tuple[bytes | None, bytes, tuple[tuple[str, bytes], ...], int]]] = {}
        self._qsids: dict[str, list[StreamID | None]] = {}  # per queued record: its entry ID
        self._writers: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._group_chain: dict[str, asyncio.Task[Exception | None]] = {}  # stream -> its last delayed commit
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._reclaim: dict[str, int] = {}  # stream -> log offset to cut at
        self._durable_waits: dict[str, asyncio.Future[None]] = {}
        on_reset(core, self.reset)

    def reset(self, sel: Selection) -> None:
        """After a reset (core/reset.py): forget the loaded model and unwritten group
        state of every deleted stream (a stream re-created under the same name starts
        empty), and wake its blocked readers."""
        for name in sorted(set(self.streams) & sel.streams if not sel.everything else set(self.streams)):
            del self.streams[name]
            self._dirty.discard(name)
            self.notify(name)

    # -- blocking readers ---------------------------------------------------------------
    def waiter(self, names: list[str]) -> asyncio.Future[None]:
        """A future resolved at the next change of any of `names` (add, delete...)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for name in names:
            self._waiters.setdefault(name, []).append(fut)
        return fut

    @property
    def waiting(self) -> dict[str, list[asyncio.Future[None]]]:
        """Stream names with blocked readers (a fast membership check for writers)."""
        return self._waiters

    def notify(self, name: str) -> None:
        waiters = self._waiters.pop(name, None)
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def forget(self, names: list[str], fut: asyncio.Future[None]) -> None:
        for name in names:
            lst = self._waiters.get(name)
            if lst and fut in lst:
                lst.remove(fut)
                if not lst:
                    del self._waiters[name]

    # -- lookup -----------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every stream is a Redis key (streams made by Kafka or Kinesis too), except the
        broker's internal ones (Firehose buffers, EventBridge archives)."""
        return sorted(self.core.list_streams())

    def core_stream_if_exists(self, name: str) -> Stream | None:
        try:
            return self.core.get_stream(name)
        except StreamNotFound:
            return None

    def exists(self, name: str) -> bool:
        try:
            self.core.get_stream(name)
        except StreamNotFound:
            return False
        return True

    def get(self, name: str, create: bool = False) -> RedisStream | None:
        """The stream, loaded on first use and caught up with records that other
        front-ends (Kafka, Kinesis...) appended since."""
        rs = self.streams.get(name)
        if rs is not None:
            if self._sync(rs):
                return rs
            del self.streams[name]  # deleted through another front-end
        if not create and not self.exists(name):
            return None
        rs = self._load(name)
        self.streams[name] = rs
        return rs

    def _core_stream(self, name: str) -> Stream:
        return self.core.stream(name)

    def _load(self, name: str) -> RedisStream:
        try:
            stream = self.core.get_stream(name)
        except StreamNotFound:  # a new key: room for Redis-sized entries, kept until trimmed
            # (Redis never expires stream entries: only XTRIM/XDEL/MAXLEN remove them)
            stream = self.core.create_stream(name, 1, {"max_message_bytes": MAX_MESSAGE_BYTES,
                                                       "retention_ms": -1, "retention_bytes": -1})
        read = stream.read
        # with control records, so offsets stay dense for the model's read-ahead window
        rs = RedisStream(name, lambda offset, count: read(0, offset, count, include_control=True))
        limit = stream.effective_config.max_message_bytes or MAX_MESSAGE_BYTES
        rs.max_value = max(0, int(limit) - RECORD_OVERHEAD)
        offset = stream.earliest(0)
        end = stream.latest(0)
        auto: StreamID = MIN_ID
        while offset < end:
            records = stream.read(0, offset, 1000, include_control=True, skip_corrupt=True)
            if not records:
                break
            for rec in records:
                offset = rec.offset + 1
                auto = self._replay(rs, rec, auto)
        rs.log_end = max(offset, end)
        rs.reclaimed_to = stream.earliest(0)
        self._load_groups(rs)
        return rs

    def _sync(self, rs: RedisStream) -> bool:
        """Ingest records appended by other front-ends since `rs.log_end`; False when
        the stream no longer exists in core."""
        try:
            stream = self.core.get_stream(rs.name)
        except StreamNotFound:
            return False
        end = stream.latest(0)
        if end <= rs.log_end:
            return True
        offset = max(rs.log_end, stream.earliest(0))
        added = False
        while offset < end:
            records = stream.read(0, offset, 1000, include_control=True, skip_corrupt=True)
            if not records:
                break
            for rec in records:
                offset = rec.offset + 1
                if any(k == ID_HEADER or k == OP_HEADER for k, _ in rec.headers or ()):
                    continue  # ours: already applied in memory
                self._replay(rs, rec, MIN_ID)
                added = True
        rs.log_end = max(rs.log_end, offset)
        if added:
            rs.version += 1
            self.notify(rs.name)
        return True

    def _replay(self, rs: RedisStream, rec: Any, auto: StreamID) -> StreamID:
        headers = dict(rec.headers or ())
        rid = headers.get(ID_HEADER)
        if rid is not None:
            rs.add(parse_id(rid), rec.offset)
            return auto
        op = headers.get(OP_HEADER)
        if op is None:  # a record from another front-end
            ts = max(int(rec.timestamp), 0)
            sid = (ts, 0) if ts > rs.last_id[0] else (rs.last_id[0], rs.last_id[1] + 1)
            rs.add(sid, rec.offset)  # its fields are read from the record (record_fields)
            return sid
        value = bytes(rec.value or b"")
        if op == b"del":
            for part in value.split():
                rs.delete(parse_id(part))
        elif op == b"trim":
            rs.trim_before(rs.count_below(parse_id(value)))
        elif op == b"setid":
            last, added, maxdel = value.split()
            rs.last_id = parse_id(last)
            rs.entries_added = int(added)
            rs.max_deleted_id = parse_id(maxdel)
        return auto

    # -- journaling -------------------------------------------------------------------
    def _enqueue(self, name: str, ts: int, headers: tuple[tuple[str, bytes], ...], value: bytes,
                 sid: StreamID | None = None, key: bytes | None = None) -> None:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = []
        q.append((key, value, headers, ts))
        qs = self._qsids.get(name)
        if qs is None:
            qs = self._qsids[name] = []
        qs.append(sid)
        if name not in self._writers:
            self._writers[name] = asyncio.get_running_loop().create_task(self._write(name))

    async def _write(self, name: str) -> None:
        done: asyncio.Future[None] | None = None
        try:
            stream = self._core_stream(name)
            while True:
                q = self._queues.get(name)
                if not q:
                    break
                self._queues[name] = []
                qs = self._qsids.get(name) or []
                self._qsids[name] = []
                done = self._durable_waits.pop(name, None)
                # (key, value, headers, timestamp): storage's RecordIn shape, in batches
                # under the log's batch-size limit
                # (bookkeeping records, key CONTROL_KEY, go in their own control batches)
                start = 0
                size = 0
                for i, rec in enumerate(q):
                    rsize = len(rec[1]) + 64
                    if i > start and (size + rsize > BATCH_BYTES or (rec[0] is None) != (q[start][0] is None)):
                        await self._append(name, stream, q[start:i], qs[start:i])
                        start, size = i, 0
                    size += rsize
                if start < len(q):
                    await self._append(name, stream, q[start:] if start else q, qs[start:] if start else qs)
                if done is not None:
                    done.set_result(None)  # every record of `q` is durable
                    done = None
                if name in self._reclaim and not self._queues.get(name):
                    self._cut(name, stream, self._reclaim.pop(name))
        except Exception as exc:
            log.exception("resp: journaling stream %r failed", name)
            if done is not None and not done.done():
                done.set_exception(exc)
        finally:
            self._writers.pop(name, None)
            if self._queues.get(name):
                self._writers[name] = asyncio.get_running_loop().create_task(self._write(name))
            else:  # asked for while the last batch was being written: that covered it
                late = self._durable_waits.pop(name, None)
                if late is not None and not late.done():
                    late.set_result(None)

    async def _append(self, name: str, stream: Stream, batch: list[Any], sids: list[StreamID | None]) -> None:
        rs = self.streams.get(name)
        base = stream.latest(0)
        contiguous = rs is not None and rs.log_end == base
        if batch[0][0] is not None:  # bookkeeping: one control batch (see module docstring)
            result = await stream.append_batch(0, encode_batch(batch, is_control=True))
        else:
            result = await stream.append_records(0, batch)
        if rs is None:
            return
        if contiguous and rs.log_end == base:
            rs.log_end = int(result.last_offset) + 1  # nothing foreign in between
        rs.note_written_run(sids, int(result.base_offset))

    # -- reclaiming trimmed log space -------------------------------------------------
    def trimmed(self, rs: RedisStream, ts: int) -> None:
        """After XTRIM/MAXLEN/MINID: when the log offset of the first live entry is far
        enough past the last cut, write a `setid` snapshot (the counters survive the cut) and let
        the writer cut the log there (`Stream.delete_records`)."""
        cut = rs.cut_offset()
        if cut is None or cut - rs.reclaimed_to < RECLAIM_MIN_RECORDS:
            return
        self.journal_setid(rs, ts)  # above `cut`: the cut never removes this snapshot
        self._reclaim[rs.name] = cut

    def _cut(self, name: str, stream: Stream, cut: int) -> None:
        rs = self.streams.get(name)
        if rs is None or cut <= stream.earliest(0):
            return
        stream.delete_records(0, cut)
        rs.reclaimed_to = cut

    def durable(self, name: str) -> asyncio.Future[None]:
        """A future resolved once every record queued so far for `name` is durable
        (the log's fsync policy decides when: at once, per interval, or per write)."""
        fut = self._durable_waits.get(name)
        if fut is None:
            fut = self._durable_waits[name] = asyncio.get_running_loop().create_future()
        return fut

    def journal_add(self, rs: RedisStream, sid: StreamID, sid_text: bytes, value: bytes, ts: int) -> None:
        """Queue an entry record; `value` is the encoded fields (`encode_fields`)."""
        rs.version += 1
        q = self._queues.get(rs.name)
        if q:
            q.append((None, value, ((ID_HEADER, sid_text),), ts))
            self._qsids[rs.name].append(sid)
        else:
            self._enqueue(rs.name, ts, ((ID_HEADER, sid_text),), value, sid)

    def journal_op(self, rs: RedisStream, op: bytes, value: bytes, ts: int) -> None:
        rs.version += 1
        self._enqueue(rs.name, ts, ((OP_HEADER, op),), value, key=CONTROL_KEY)

    def journal_setid(self, rs: RedisStream, ts: int) -> None:
        value = b"%s %d %s" % (fmt(rs.last_id), rs.entries_added, fmt(rs.max_deleted_id))
        self.journal_op(rs, b"setid", value, ts)

    async def delete(self, name: str) -> bool:
        existed = self.exists(name)
        self.streams.pop(name, None)
        self._queues.pop(name, None)
        self._qsids.pop(name, None)
        self._reclaim.pop(name, None)
        waiting = self._durable_waits.pop(name, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)  # the entries are gone with the key
        writer = self._writers.pop(name, None)
        if writer is not None:
            writer.cancel()
        self.notify(name)
        self.core.catalog.kv_delete(GROUPS_NS, name)
        self._dirty.discard(name)
        if existed:
            try:
                res = self.core.delete_stream(name)
                if asyncio.iscoroutine(res):
                    await res
            except StreamNotFound:
                pass  # deleted meanwhile by another front-end
        return existed

    # -- group state ------------------------------------------------------------------
    def groups_changed(self, rs: RedisStream) -> None:
        rs.version += 1
        self._dirty.add(rs.name)
        if self._flush_handle is None:
            # next iteration, whatever the fsync policy: a change held in memory for a
            # timer was lost by a SIGKILL after its reply (#26)
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush_groups)

    def groups_durable(self) -> asyncio.Future[None] | None:
        """A future resolved once every group change made so far is committed to the
        catalog (None when nothing is waiting to be written)."""
        if not self._dirty:
            return None
        fut = self._groups_done
        if fut is None:
            fut = self._groups_done = asyncio.get_running_loop().create_future()
        return fut

    def flush_groups(self) -> None:
        """Commit the group state of every dirty stream, in one catalog transaction.

        A group state names entries (last-delivered ID, PEL) whose records may still be
        on their way to the log: committed first, a power cut kept a PEL and a
        last-delivered ID pointing past the log's end (#26). So the state is
        snapshotted now and a stream with records in flight commits its snapshot once
        they are written (`durable`), after any earlier snapshot of the same stream;
        the commands waiting on `groups_durable` reply when every snapshot is in."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        done, self._groups_done = self._groups_done, None
        now: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name in dirty:
            rs = self.streams.get(name)
            if rs is None:
                continue
            snap = [dump_group(g) for g in rs.groups.values()] or None
            busy = name in self._writers or self._queues.get(name) or name in self._group_chain
            (later if busy else now)[name] = snap
        waits = []
        for name, snap in later.items():
            after: list[asyncio.Future[Any]] = [self.durable(name)] if name in self._writers or self._queues.get(name) else []
            prev = self._group_chain.get(name)
            if prev is not None:
                after.append(prev)
            task = asyncio.get_running_loop().create_task(self._commit_after(after, name, snap))
            self._group_chain[name] = task
            task.add_done_callback(lambda t, n=name: self._group_chain.pop(n, None) if self._group_chain.get(n) is t else None)  # type: ignore[misc]
            waits.append(task)
        try:
            self._commit(now)
        except Exception as exc:
            self._dirty |= set(now)  # retried by the next change's flush
            if done is not None and not done.done():
                done.set_exception(exc)
                done.exception()  # retrieved: the waiting commands reply with the error
            return
        if done is None:
            return
        if not waits:
            if not done.done():
                done.set_result(None)
            return

        def finish(_: Any) -> None:
            if all(t.done() for t in waits) and not done.done():
                errors = [t.result() for t in waits if not t.cancelled() and t.result() is not None]
                if errors:
                    done.set_exception(errors[0])  # type: ignore[arg-type]  # None filtered above
                    done.exception()
                else:
                    done.set_result(None)

        for t in waits:
            t.add_done_callback(finish)

    async def _commit_after(self, after: list[Any], name: str, snap: Any) -> Exception | None:
        await asyncio.gather(*after, return_exceptions=True)
        try:
            self._commit({name: snap})
        except Exception as exc:  # logged by _commit; the waiting commands get it
            self._dirty.add(name)  # retried by the next change's flush
            return exc
        return None

    def _commit(self, snaps: dict[str, Any]) -> None:
        if not snaps:
            return
        catalog = self.core.catalog
        try:
            with catalog.transaction():
                for name, snap in snaps.items():
                    if name not in self.streams:
                        continue  # deleted meanwhile: its state went with it
                    if snap is None:
                        catalog.kv_delete(GROUPS_NS, name)
                    else:
                        catalog.kv_put(GROUPS_NS, name, snap)
        except Exception:
            log.exception("resp: writing consumer-group state failed")
            raise

    def _load_groups(self, rs: RedisStream) -> None:
        data = self.core.catalog.kv_get(GROUPS_NS, rs.name)
        for gd in data or ():
            g = load_group(gd)
            rs.groups[g.name] = g

    async def flush(self) -> None:
        """Write queued entries and group state (shutdown, tests)."""
        while self._writers:
            await asyncio.gather(*list(self._writers.values()), return_exceptions=True)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.flush_groups()
        while self._group_chain:
            await asyncio.gather(*list(self._group_chain.values()), return_exceptions=True)


__all__ = ["ESCAPE_PREFIX", "StreamStore", "decode_fields", "encode_fields", "key_of", "stream_name"]
