"""CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
SetQueueAttributes, PurgeQueue, ListDeadLetterSourceQueues: the queue lifecycle.

CreateQueue is idempotent when every given attribute equals the queue's current value,
else `QueueNameExists` (query code `QueueAlreadyExists`). FIFO queues need the `.fifo`
suffix and `FifoQueue=true` together. ListQueues and ListDeadLetterSourceQueues page with
`MaxResults` (1-1000) and an opaque `NextToken`. PurgeQueue allows one purge per queue
every 60 seconds (`PurgeQueueInProgress`).
Concurrency: the server's event loop; handlers never block.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from mqlite.core.api import BrokerCore, Queue
from mqlite.core.errors import CoreError
from mqlite.core.queue.config import QueueConfig
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs import attributes as qattrs
from mqlite.protocols.aws.sqs.common import (
    SqsState,
    name_from_url,
    now_s,
    queue_url,
    valid_queue_name,
)
from mqlite.protocols.aws.wire import AwsError

PURGE_INTERVAL_S = 60.0


class QueueActions:
    """Handlers of the queue-lifecycle family, bound to one core and state store."""

    def __init__(self, core: BrokerCore, state: SqsState) -> None:
        self.core = core
        self.state = state
        self._purged_at: dict[str, float] = {}

    def queue(self, url: str) -> Queue:
        return self.core.get_queue(name_from_url(url))

    def _exists(self, name: str) -> Any | None:
        try:
            return self.core.get_queue(name)
        except CoreError:  # QueueNotFound
            return None

    def _created_s(self, name: str) -> int:
        try:
            return int(self.core.queues.created_ms(name)) // 1000
        except CoreError:
            return 0

    def reconfigure(self, queue: Queue, changes: dict[str, Any]) -> None:
        if changes:
            cfg = queue.config.replace(**changes)
            _check_fifo_throughput(cfg)
            self.core.queues.set_config(queue.name, cfg)

    # -- handlers -----------------------------------------------------------------------
    async def create_queue(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateQueue."""
        name = p["QueueName"]
        # SQS ignores whitespace around attribute names at CreateQueue.
        attrs: dict[str, str] = {k.strip(): v for k, v in (p.get("Attributes") or {}).items()}
        fifo_attr = attrs.get("FifoQueue", "false").strip().lower()
        if fifo_attr not in ("true", "false"):
            raise AwsError("InvalidAttributeValue", "Invalid value for the parameter FifoQueue.", 400)
        fifo = fifo_attr == "true"
        if not valid_queue_name(name, fifo):
            if fifo or name.endswith(".fifo"):
                msg = ("The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                       "or underscores, must end with .fifo suffix and be 1 to 80 in length.")
            else:
                msg = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            raise AwsError("InvalidParameterValue", msg, 400)
        changes, state_changes = qattrs.config_changes(attrs, self.core, fifo, creating=True)
        name = namespace.of(ctx).core(name) or name  # valid names hold no separator
        existing = self._exists(name)
        if existing is not None:
            current = qattrs.describe(ctx, existing, self.state.get(name), existing.counts())
            for key, value in attrs.items():
                if key in ("RedrivePolicy", "RedriveAllowPolicy", "Policy"):
                    same = _json_equal(current.get(key, ""), value)
                else:
                    same = current.get(key, "false" if key == "FifoQueue" else "") == value
                if not same:
                    raise AwsError(
                        "QueueNameExists",
                        f"A queue already exists with the same name and a different value for attribute {key}",
                        400,
                    )
            return {"QueueUrl": queue_url(ctx, name)}
        cfg = QueueConfig.from_attributes(fifo=fifo, **changes)
        _check_fifo_throughput(cfg)
        self.core.create_queue(name, cfg)
        state = {"created": now_s(), "modified": now_s(), **state_changes}
        if p.get("tags"):
            state["tags"] = dict(p["tags"])
        self.state.put(name, state)
        return {"QueueUrl": queue_url(ctx, name)}

    async def get_queue_url(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """GetQueueUrl."""
        owner = p.get("QueueOwnerAWSAccountId") or None
        name = namespace.of(ctx).at(owner).core(p["QueueName"])
        if name is None:
            raise AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400)
        self.core.get_queue(name)
        return {"QueueUrl": queue_url(ctx, name)}

    async def list_queues(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListQueues."""
        ns, prefix = namespace.of(ctx), p.get("QueueNamePrefix") or ""
        names = [n for n in self.core.list_queues(prefix if ns.is_home else "")
                 if (local := ns.local(n)) is not None and local.startswith(prefix)]
        urls, token = _page(names, p)
        out: dict[str, Any] = {}
        if urls:
            out["QueueUrls"] = [queue_url(ctx, n) for n in urls]
        if token:
            out["NextToken"] = token
        return out

    async def delete_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeleteQueue."""
        queue = self.queue(p["QueueUrl"])
        result = self.core.delete_queue(queue.name)
        if hasattr(result, "__await__"):
            await result
        self.state.delete(queue.name)
        self._purged_at.pop(queue.name, None)

    async def get_queue_attributes(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """GetQueueAttributes."""
        queue = self.queue(p["QueueUrl"])
        names = list(p.get("AttributeNames") or [])
        if not names:
            return {}
        all_attrs = qattrs.describe(
            ctx, queue, self.state.get(queue.name), queue.counts(), self._created_s(queue.name)
        )
        selected = qattrs.select(all_attrs, names)
        return {"Attributes": selected} if selected else {}

    async def set_queue_attributes(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """SetQueueAttributes."""
        queue = self.queue(p["QueueUrl"])
        attrs = p.get("Attributes") or {}
        changes, state_changes = qattrs.config_changes(attrs, self.core, bool(queue.config.fifo), creating=False)
        self.reconfigure(queue, changes)
        state = dict(self.state.get(queue.name))
        state.update(state_changes)
        state["modified"] = now_s()
        self.state.put(queue.name, state)

    async def purge_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """PurgeQueue."""
        queue = self.queue(p["QueueUrl"])
        last = self._purged_at.get(queue.name)
        now = time.monotonic()
        if last is not None and now - last < PURGE_INTERVAL_S:
            raise AwsError(
                "PurgeQueueInProgress",
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
                403,
            )
        result = queue.purge()
        if hasattr(result, "__await__"):
            await result
        self._purged_at[queue.name] = now

    async def list_dead_letter_source_queues(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListDeadLetterSourceQueues."""
        target = self.queue(p["QueueUrl"]).name
        sources = self.dead_letter_sources(target)
        urls, token = _page(sources, p)
        out: dict[str, Any] = {"queueUrls": [queue_url(ctx, n) for n in urls]}
        if token:
            out["NextToken"] = token
        return out

    def dead_letter_sources(self, target: str) -> list[str]:
        sources = []
        for name in self.core.list_queues(""):
            try:
                redrive = self.core.get_queue(name).config.redrive
            except CoreError:  # deleted meanwhile
                redrive = None
            if redrive is not None and redrive.dead_letter_target == target:
                sources.append(name)
        return sources


def _check_fifo_throughput(cfg: QueueConfig) -> None:
    """FifoThroughputLimit=perMessageGroupId needs DeduplicationScope=messageGroup."""
    if cfg.fifo_throughput_limit == "perMessageGroupId" and cfg.dedup_scope != "messageGroup":
        raise AwsError(
            "InvalidAttributeValue",
            "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId "
            "is allowed only when DeduplicationScope is messageGroup.",
            400,
        )


def _json_equal(a: str, b: str) -> bool:
    import orjson

    try:
        return bool(orjson.loads(a or "null") == orjson.loads(b or "null"))
    except orjson.JSONDecodeError:
        return a == b


def _page(names: list[str], p: dict[str, Any]) -> tuple[list[str], str | None]:
    names = sorted(names)
    max_results = p.get("MaxResults")
    token = p.get("NextToken")
    if max_results is not None and not 1 <= max_results <= 1000:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
            400,
        )
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidParameterValue", "Invalid NextToken value.", 400) from None
        names = [n for n in names if n > after]
    if max_results is None:
        return names[:1000], None
    page = names[:max_results]
    more = len(names) > max_results
    return page, base64.urlsafe_b64encode(page[-1].encode()).decode() if more and page else None
