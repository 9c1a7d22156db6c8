"""QueueRegistry: the named queues (SQS queues and AMQP queues are the same objects).

Owns the catalog entities of kind 'queue' (config: `{"config": QueueConfig.to_dict(),
"token": <receipt token>, "created_ms": n, "name_rule": "sqs"|"amqp"}`) and each
queue's two logs: `logs.open('queue', name, 0)` (messages) and
`logs.open('queue-journal', name, 0)` (the lease journal).

Names: by default the SQS rule (`core.naming.validate_queue_name`: 1-80 of
`[A-Za-z0-9_-]`, `.fifo` suffix exactly for FIFO queues). AMQP queues pass
`name_rule="amqp"`: 1-255 UTF-8 bytes (AMQP shortstr), anything else allowed as
RabbitMQ does ('/' included; the `amq.` prefix is the front-end's rule). Names become
directory names only through `LogFactory`, which encodes unsafe ones.

Invariants: every queue in memory has its catalog row and vice versa; `open()` restores
every queue in the catalog (journal replay). `create` is idempotent with an identical
configuration and raises `QueueExists` otherwise.
Concurrency: core's single event loop (see docs/architecture.md); no locks.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from typing import TYPE_CHECKING, Any

from mqlite.core import ondisk
from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.errors import InvalidName, InvalidValue, QueueExists, QueueNotFound
from mqlite.core.naming import is_fifo_name, validate_queue_name
from mqlite.core.queue import moves
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.queue import Queue
from mqlite.storage.log import LogConfig

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.broker import BrokerCore

log = logging.getLogger("mqlite.core")

KIND = "queue"
JOURNAL_KIND = "queue-journal"
AMQP_NAME_RULE = "queue-name (AMQP): 1-255 bytes of UTF-8"


def _log_config(config: QueueConfig) -> LogConfig:
    return LogConfig(
        segment_bytes=64 * 1024 * 1024,
        segment_ms=None,
        retention_ms=None,  # the queue expires messages itself (lease-aware)
        retention_bytes=None,
        max_batch_bytes=16 * 1024 * 1024 + 2 * config.max_message_bytes,
    )


_JOURNAL_LOG = LogConfig(
    segment_bytes=8 * 1024 * 1024, segment_ms=None, retention_ms=None, retention_bytes=None,
    max_batch_bytes=64 * 1024 * 1024,
)


def validate_amqp_queue_name(name: str) -> str:
    try:
        size = len(name.encode()) if isinstance(name, str) else 0
    except UnicodeEncodeError:  # lone surrogates are not UTF-8
        size = 0
    if not 1 <= size <= 255:
        raise InvalidName(f"invalid queue name {name!r}", rule=AMQP_NAME_RULE)
    return name


class QueueRegistry:
    """create/get/delete/list queues; `BrokerCore` delegates its queue calls here."""

    def __init__(self, catalog: Catalog, logs: Any, clock: Clock, core: BrokerCore) -> None:
        self.catalog = catalog
        self.logs = logs
        self.clock = clock
        self.core = core
        self._queues: dict[str, Queue] = {}
        self._opened = False

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        """Restore every queue in the catalog."""
        self._restore()

    def _restore(self) -> None:
        if self._opened:
            return
        self._opened = True
        for name, entry in self.catalog.list_entities(KIND):
            config = QueueConfig.from_dict(entry.get("config"))
            self._queues[name] = self._build(name, config, entry["token"])
        if self.logs.data_dir is not None:
            self._adopt_orphans(self.logs.data_dir)

    def _adopt_orphans(self, data_dir: Any) -> None:
        """A queue's message log without a catalog row (the catalog lagged its logs at a
        power cut) is never deleted: the queue is restored with the default config (FIFO
        when the name ends in .fifo) and a new receipt token, and logged."""
        for found in ondisk.entities_on_disk(data_dir, KIND):
            name = found.name
            if name is None or name in self._queues:
                if name is None:
                    log.warning("queue data in %s has no catalog entry and no recoverable"
                                " name; left in place", found.path)
                continue
            config = QueueConfig(fifo=is_fifo_name(name))
            try:
                validate_queue_name(name, config.fifo)
                rule = "sqs"
            except InvalidName:
                rule = "amqp"
            token = secrets.token_hex(6)
            self.catalog.put_entity(KIND, name, {
                "config": config.to_dict(), "token": token,
                "created_ms": self.clock.now_ms(), "name_rule": rule, "recovered": True,
            })
            self._queues[name] = self._build(name, config, token)
            log.warning("queue %r had data on disk (%s) but no catalog entry: restored with"
                        " the default config", name, found.path)

    def _build(self, name: str, config: QueueConfig, token: str) -> Queue:
        log = self.logs.open(KIND, name, 0, _log_config(config))
        journal = self.logs.open(JOURNAL_KIND, name, 0, _JOURNAL_LOG)
        return Queue(
            name, config, log, journal, self.clock, token=token,
            resolve_queue=self.get, resolve_router=self._router,
        )

    def _router(self, name: str) -> Any:
        getter = getattr(self.core, "get_router", None)
        if getter is None:
            raise QueueNotFound(name)
        return getter(name)

    # -- registry ----------------------------------------------------------------------
    def create(
        self, name: str, config: QueueConfig | None = None, *, name_rule: str = "sqs",
        **attributes: Any,
    ) -> Queue:
        """Create a queue; with the same configuration as an existing one, return it
        (SQS CreateQueue / AMQP queue.declare are idempotent); otherwise QueueExists."""
        self._restore()
        if config is None:
            config = QueueConfig.from_attributes(**attributes)
        elif attributes:
            config = config.replace(**attributes)
        if name_rule == "amqp":
            validate_amqp_queue_name(name)
        elif name_rule == "sqs":
            validate_queue_name(name, config.fifo)
        else:
            raise InvalidValue("name_rule", f"unknown name rule {name_rule!r}",
                               rule="name_rule: 'sqs' or 'amqp'")
        existing = self._queues.get(name)
        if existing is not None:
            if existing.config == config:
                return existing
            raise QueueExists(name)
        self._check_redrive(config)
        token = secrets.token_hex(6)
        self.catalog.put_entity(KIND, name, {
            "config": config.to_dict(), "token": token,
            "created_ms": self.clock.now_ms(), "name_rule": name_rule,
        })
        queue = self._build(name, config, token)
        self._queues[name] = queue
        return queue

    def _check_redrive(self, config: QueueConfig) -> None:
        """SQS: the dead-letter queue of a FIFO queue must be FIFO (and of a standard
        queue, standard)."""
        if config.redrive is None:
            return
        target = self._queues.get(config.redrive.dead_letter_target)
        if target is not None and target.config.fifo != config.fifo:
            raise InvalidValue(
                "redrive", "the dead-letter queue must be of the same type as the source queue",
                rule="redrive: a FIFO queue's dead-letter queue is FIFO, a standard one's standard",
            )

    def get(self, name: str) -> Queue:
        self._restore()
        try:
            return self._queues[name]
        except KeyError:
            raise QueueNotFound(name) from None

    def get_or_create(self, name: str, config: QueueConfig | None = None, **attributes: Any) -> Queue:
        """The existing queue (attributes ignored when none are given), else a new one."""
        self._restore()
        existing = self._queues.get(name)
        if existing is not None and config is None and not attributes:
            return existing
        return self.create(name, config, **attributes)

    def set_config(self, name: str, config: QueueConfig | None = None, **attributes: Any) -> Queue:
        """Change a queue's configuration (SQS SetQueueAttributes); durable."""
        queue = self.get(name)
        new = config if config is not None else queue.config
        if attributes:
            new = new.replace(**attributes)
        self._check_redrive(new)
        queue.set_config(new)
        entry = self.catalog.get_entity(KIND, name) or {}
        entry["config"] = new.to_dict()
        self.catalog.put_entity(KIND, name, entry)
        return queue

    def delete(self, name: str) -> bool:
        """Delete a queue and its data; False when there was none."""
        self._restore()
        queue = self._queues.pop(name, None)
        if queue is None:
            return False
        queue.mark_deleted()
        # the data first (moved to the trash at once), then the catalog row: a crash in
        # between leaves a row without data, never data without a row
        self.logs.delete(KIND, name)
        self.logs.delete(JOURNAL_KIND, name)
        self.catalog.delete_entity(KIND, name)
        return True

    def list(self, prefix: str = "") -> list[str]:
        self._restore()
        return sorted(n for n in self._queues if n.startswith(prefix))

    def created_ms(self, name: str) -> int:
        entry = self.catalog.get_entity(KIND, name)
        if entry is None:
            raise QueueNotFound(name)
        return int(entry.get("created_ms", 0))

    # -- message moves (SQS StartMessageMoveTask) ----------------------------------------
    def start_message_move(
        self, source: str, destination: str | None = None, max_per_second: int | None = None
    ) -> moves.MoveTask:
        return moves.start_move(self.get(source), destination, max_per_second)

    def list_message_moves(self, source: str) -> builtins.list[moves.MoveTask]:
        return list(reversed(self.get(source).move_tasks))[:10]

    def cancel_message_move(self, handle: str) -> moves.MoveTask:
        for queue in self._queues.values():
            task: moves.MoveTask
            for task in queue.move_tasks:
                if task.handle == handle:
                    if task.status != "RUNNING":
                        raise InvalidValue("handle", "the task is not running",
                                           rule="move-task: only a running task can be cancelled")
                    task.cancel()
                    return task
        raise InvalidValue("handle", f"no move task {handle!r}", rule="move-task: handle exists")

    # -- maintenance -------------------------------------------------------------------
    def tick(self) -> None:
        """Apply due expiries (visibility, delay, TTL) and AMQP queue expiry (x-expires)."""
        now = self.clock.now_ms()
        for name, queue in list(self._queues.items()):
            queue.tick()
            exp = queue.config.expires_ms
            if exp is not None and not queue._owners and now - queue.last_used_ms >= exp:
                self.delete(name)

    async def flush(self) -> None:
        for queue in self._queues.values():
            await queue.flush()

    async def close(self) -> None:
        for queue in self._queues.values():
            queue.close()
        self._queues.clear()
