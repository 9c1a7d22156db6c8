"""The delivery loop: from a delivery stream's source to its destination, buffered.

Durability: PutRecord(Batch) appends to the internal mqlite stream `__mqlite.firehose.<name>`
(one partition; `core.naming.is_internal_stream`: hidden from Kafka, Kinesis and Redis) and acknowledges once the append is durable, so acknowledged records survive
a shutdown or crash. A KinesisStreamAsSource delivery stream reads the Kinesis stream's
partitions directly (from LATEST at creation, as Firehose starts). The delivered
positions are committed to the catalog (kv `firehose.positions`) only after the
destination accepted the buffer, so delivery is at-least-once (as Firehose's), and a
restart resumes from the last committed positions. Delivered records are trimmed from
the buffer stream (`Stream.delete_records`: whole segments go once fully delivered).

`Deliverer` is one asyncio task per delivery stream: it reads new records into a
`Buffer`, flushes when a BufferingHints limit is hit (size or interval), runs the
optional Lambda transformation, writes to S3 (files, `s3_writer`) or POSTs to the HTTP
endpoint (`http_endpoint`), then commits. A failed S3 write is retried every second.
`DeliveryService` owns the tasks: started lazily from the handlers (`ensure`), and on
shutdown (`close`) each task flushes what it has buffered (S3 at once; HTTP with one
attempt) before it stops.
Concurrency: the server's event loop; file writes run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import aiohttp

from mqlite.core.api import BrokerCore, Selection, Stream
from mqlite.core.naming import internal_stream_name, namespace_parts
from mqlite.core.reset import on_reset
from mqlite.protocols.aws.firehose import http_endpoint, s3_writer, transform
from mqlite.protocols.aws.firehose.buffering import Buffer, Hints, hints
from mqlite.settings import Settings

log = logging.getLogger("mqlite.firehose")
POSITIONS = "firehose.positions"
READ_BATCH = 1000


def buffer_stream(name: str) -> str:
    """The internal stream buffering a DirectPut delivery stream (`core.naming` rule),
    in the delivery stream's AWS namespace (protocols/aws/namespace.py)."""
    prefix, body, suffix = namespace_parts(name)
    return prefix + internal_stream_name("firehose", body) + suffix


def legacy_buffer_stream(name: str) -> str:
    """The buffer's name before the internal-stream rule (data dirs of before 2026-11-27)."""
    return f"__firehose.{name}"


def find_buffer(core: BrokerCore, name: str) -> Any:
    """The buffer stream of `name`, or None: the current name, else the legacy one
    (an old data dir keeps delivering from and appending to its existing buffer)."""
    stream = core.streams.find(buffer_stream(name))
    if stream is None:
        stream = core.streams.find(legacy_buffer_stream(name))
    return stream


class Deliverer:
    def __init__(self, service: DeliveryService, name: str) -> None:
        self.service = service
        self.name = name  # the core name (protocols/aws/namespace.py)
        self.aws_name = namespace_parts(name)[1]  # the name in S3 object keys, as Firehose's
        self.buffer = Buffer()
        self.closing = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- source -------------------------------------------------------------------------
    def _config(self) -> dict[str, Any] | None:
        config: dict[str, Any] | None = self.service.store.find(self.name)
        return config

    def _source(self, cfg: dict[str, Any]) -> Any:
        core = self.service.core
        if cfg.get("type") == "KinesisStreamAsSource":
            return core.find_stream(cfg["source_stream"])
        return find_buffer(core, self.name)

    def _dest(self, cfg: dict[str, Any]) -> tuple[str, dict[str, Any], Hints]:
        dest = cfg["destination"]
        kind = dest["kind"]
        conf = dest["config"]
        key = "http" if kind == "http" else "s3"
        return kind, conf, hints(key, conf.get("BufferingHints"))

    # -- loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        committed: dict[int, int] = {}
        positions: dict[int, int] = {}
        loaded = False
        while True:
            cfg = self._config()
            if cfg is None:
                return
            stream = self._source(cfg)
            if stream is None:
                await asyncio.sleep(1.0)
                continue
            if not loaded:
                loaded = True
                committed = self.service.positions(self.name, stream)
                positions = dict(committed)
            kind, conf, h = self._dest(cfg)
            # read what is there, up to the size hint
            progressed = False
            for p in range(stream.partition_count):
                pos = max(positions.get(p, 0), stream.earliest(p))
                while self.buffer.size < h.size_bytes and pos < stream.latest(p):
                    records = stream.read(p, pos, READ_BATCH)
                    if not records:  # only control batches (e.g. Redis bookkeeping) remain
                        pos = stream.latest(p)
                        break
                    for r in records:
                        self.buffer.add(r.timestamp, r.value or b"", loop.time())
                        pos = r.offset + 1
                        if self.buffer.size >= h.size_bytes:
                            break
                    progressed = True
                positions[p] = pos
            now = loop.time()
            if self.buffer.records and (self.closing or self.buffer.due(h, now)):
                records = self.buffer.take()
                if await self._deliver(cfg, kind, conf, records):
                    committed = dict(positions)
                    self.service.commit(self.name, committed)
                    if cfg.get("type") != "KinesisStreamAsSource":
                        stream.delete_records(0, committed.get(0, 0))  # delivered: trim
                else:
                    positions = dict(committed)  # re-read and retry
                    await asyncio.sleep(1.0)
                continue
            if self.closing:
                return
            if progressed:
                continue
            timeout = min(self.buffer.wait_time(h, now) if self.buffer.records else 1.0, 1.0)
            waits = {p: positions.get(p, 0) for p in range(stream.partition_count)}
            waiter = asyncio.ensure_future(stream.wait_for_data(waits, timeout))
            woke = asyncio.ensure_future(self.wake.wait())
            await asyncio.wait({waiter, woke}, return_when=asyncio.FIRST_COMPLETED)
            for f in (waiter, woke):
                if not f.done():
                    f.cancel()
            self.wake.clear()

    async def _deliver(self, cfg: dict[str, Any], kind: str, conf: dict[str, Any],
                       records: list[tuple[int, bytes]]) -> bool:
        svc = self.service
        version = int(cfg.get("version", 1))
        s3_conf = conf if kind != "http" else conf.get("S3Configuration") or {}
        try:
            arn = transform.lambda_arn(conf)
            if arn is not None:
                records, failed, _ = await transform.run(
                    await svc.trusted_session(), svc.settings.lambda_endpoint, arn, cfg["arn"], svc.region, records)
                if failed and s3_conf.get("BucketARN"):
                    await asyncio.to_thread(s3_writer.deliver, svc.s3_root, s3_conf, self.aws_name, version,
                                            failed, "processing-failed")
                if not records:
                    return True
            if kind == "http":
                if conf.get("S3BackupMode") == "AllData" and s3_conf.get("BucketARN"):
                    await asyncio.to_thread(s3_writer.deliver, svc.s3_root, s3_conf, self.aws_name, version, records)
                refusal = svc.core.routers.http.policy.refusal(conf["EndpointConfiguration"]["Url"])
                if refusal is not None:  # a failed delivery, as for an unreachable endpoint
                    ok, attempts, code, message = False, 1, "HttpEndpoint.DestinationException", \
                        f"refused by the HTTP destination policy: {refusal}"
                else:
                    ok, attempts, code, message = await http_endpoint.deliver(
                        await svc.session(), conf, cfg["arn"], records) if not self.closing else \
                        await self._one_attempt(conf, cfg, records)
                if not ok and s3_conf.get("BucketARN"):
                    lines = http_endpoint.failed_lines(records, attempts, code, message,
                                                       conf["EndpointConfiguration"]["Url"])
                    await asyncio.to_thread(s3_writer.deliver, svc.s3_root, s3_conf, self.aws_name, version,
                                            lines, "http-endpoint-failed")
                return True
            await asyncio.to_thread(s3_writer.deliver, svc.s3_root, conf, self.aws_name, version, records)
            return True
        except Exception:
            log.exception("Firehose delivery of %s failed; retrying", self.name)
            return False

    async def _one_attempt(self, conf: dict[str, Any], cfg: dict[str, Any],
                           records: list[tuple[int, bytes]]) -> tuple[bool, int, str, str]:
        ok, code, message = await http_endpoint.post_once(await self.service.session(), conf, cfg["arn"], records)
        return ok, 1, code, message


class DeliveryService:
    """Owns one `Deliverer` task per delivery stream (see module docstring)."""

    def __init__(self, core: BrokerCore, settings: Settings, store: Any) -> None:
        self.core = core
        self.settings = settings
        self.store = store
        self.region = settings.aws_region
        root = settings.s3_dir
        if root is None:
            root = Path(settings.data_dir) / "s3" if settings.data_dir is not None else None
        self._temp_root = root is None  # --memory: a temporary root, removed at close
        if root is None:
            import tempfile
            root = Path(tempfile.mkdtemp(prefix="mqlite-s3-"))
        self.s3_root = Path(root)
        self.tasks: dict[str, Deliverer] = {}
        self._session: aiohttp.ClientSession | None = None
        self._trusted: aiohttp.ClientSession | None = None
        self._started = False
        on_reset(core, self.reset, "before")

    async def reset(self, sel: Selection) -> None:
        """Before a full or a Firehose reset (core/reset.py): stop every delivery task and
        forget every delivery stream (their buffer streams are deleted by the core)."""
        if not (sel.everything or sel.scope == "firehose"):
            return
        for name in list(self.tasks):
            await self.stop(name)
        for name, _ in self.store.items():
            self.store.delete(name)

    async def session(self) -> aiohttp.ClientSession:
        """The session for clients' endpoint URLs (held to the HTTP destination policy)."""
        if self._session is None or self._session.closed:
            self._session = self.core.routers.http.policy.session()
        return self._session

    async def trusted_session(self) -> aiohttp.ClientSession:
        """The session for the operator's own Lambda endpoint (not policed)."""
        if self._trusted is None or self._trusted.closed:
            self._trusted = aiohttp.ClientSession()
        return self._trusted

    def positions(self, name: str, stream: Stream) -> dict[int, int]:
        saved = self.core.catalog.kv_get(POSITIONS, name) or {}
        return {int(k): int(v) for k, v in saved.items()}

    def commit(self, name: str, positions: dict[int, int]) -> None:
        self.core.catalog.kv_put(POSITIONS, name, {str(k): v for k, v in positions.items()})

    def start_positions(self, name: str, positions: dict[int, int]) -> None:
        self.commit(name, positions)

    def ensure(self, name: str | None = None) -> None:
        """Start the task of `name` (or, the first time, of every delivery stream)."""
        names = [name] if name is not None else []
        if not self._started:
            self._started = True
            names += [n for n, _ in self.store.items()]
        for n in names:
            d = self.tasks.get(n)
            if d is None or d.task is None or d.task.done():
                d = self.tasks[n] = Deliverer(self, n)
                d.task = asyncio.get_running_loop().create_task(d.run(), name=f"firehose:{n}")
            else:
                d.wake.set()

    async def stop(self, name: str) -> None:
        d = self.tasks.pop(name, None)
        if d is not None and d.task is not None:
            d.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await d.task
        self.core.catalog.kv_delete(POSITIONS, name)

    async def close(self) -> None:
        """Flush every buffer (bounded wait), stop the tasks, close the HTTP session."""
        for d in self.tasks.values():
            d.closing = True
            d.wake.set()
        pending = [d.task for d in self.tasks.values() if d.task is not None]
        if pending:
            _, late = await asyncio.wait(pending, timeout=10)
            for t in late:
                t.cancel()
        self.tasks.clear()
        for session in (self._session, self._trusted):
            if session is not None:
                await session.close()
        if self._temp_root:
            import shutil
            shutil.rmtree(self.s3_root, ignore_errors=True)
