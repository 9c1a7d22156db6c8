"""SQS facts shared by every action family: URLs, ARNs, names, MD5s, front-end state.

- Queue URLs are `<scheme>://<Host header>/<account>/<name>`; any URL whose last path
  segment is a queue name is accepted (clients build URLs from their own endpoint); the
  segment before it, when an account id, names the queue's account.
- ARNs are `arn:aws:sqs:<region>:<account>:<name>`.
- Handlers hold core names (`namespace.py`: `<account>:<name>@<region>` outside the home
  account and region); `name_from_url`/`name_from_arn` resolve in the request's
  namespace, `queue_url`/`queue_arn` render a core name back.
- `md5_of_attributes` is SQS's digest: attributes sorted by name, each encoded as
  length-prefixed (4-byte big-endian) name, data type, a transport byte (1 string, 2
  binary) and length-prefixed value; boto3 recomputes it and refuses a mismatch.
- `SqsState`: SQS-only queue facts the core does not model (created/modified times,
  Policy, KMS settings, tags), kept in the catalog kv namespace `sqs/queues`.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import hashlib
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mqlite.core.api import BrokerCore, Catalog, Selection
from mqlite.core.reset import on_reset
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.wire import AwsError

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
STATE_NS = "sqs/queues"
MAX_SQS_MESSAGE = 1024 * 1024  # 1 MiB, SQS's limit since 2025


def queue_url(ctx: AwsContext, name: str) -> str:
    """The URL of the queue with core name `name` (its account in the path)."""
    account, _, local = namespace.of(ctx).split(name)
    return f"{ctx.base_url}/{account}/{quote(local, safe='')}"


def queue_arn(ctx: AwsContext, name: str) -> str:
    """The ARN of the queue with core name `name`."""
    return namespace.of(ctx).arn("sqs", name)


def _missing() -> AwsError:
    return AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400)


def name_from_url(url: str) -> str:
    """The core name of the queue a QueueUrl names: its last path segment
    (percent-decoded) in the account of the segment before it, in the request's region
    (namespace.py). Names that SQS could not create (AMQP's `tasks.high`) are accepted:
    the queue is shared."""
    ns = namespace.CURRENT.get()
    if ns is not None:
        found = ns.core_of_url(url)
        if found is None:
            raise _missing()
        return found
    path = urlsplit(url).path if "://" in url else url
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    if not name:
        raise _missing()
    return name


def name_from_arn(arn: str, param: str) -> str:
    """The core name of the queue a queue ARN names (its account and region)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        raise AwsError("InvalidParameterValue", f"Value {arn} for parameter {param} is invalid. Reason: Invalid ARN.", 400)
    ns = namespace.CURRENT.get()
    if ns is None:
        return parts[5]
    found = ns.at(parts[4] or None, parts[3] or None).core(parts[5])
    if found is None:
        raise _missing()
    return found


def local_names(names: list[str]) -> list[str]:
    """The core names among `names` that belong to the request's namespace."""
    ns = namespace.CURRENT.get()
    if ns is None:
        return names
    return [n for n in names if ns.local(n) is not None]


def valid_queue_name(name: str, fifo: bool) -> bool:
    return bool(FIFO_NAME.match(name) if fifo else QUEUE_NAME.match(name))


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _lp(buf: bytearray, data: bytes) -> None:
    buf += len(data).to_bytes(4, "big")
    buf += data


def md5_of_attributes(attrs: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes over wire-shaped attributes (see module docstring)."""
    buf = bytearray()
    for name in sorted(attrs):
        attr = attrs[name]
        _lp(buf, name.encode())
        _lp(buf, attr["DataType"].encode())
        if attr.get("BinaryValue") is not None:
            buf.append(2)
            _lp(buf, attr["BinaryValue"])
        else:
            buf.append(1)
            _lp(buf, str(attr.get("StringValue", "")).encode())
    return md5_hex(bytes(buf))


def now_s() -> int:
    return int(time.time())


_STATES: weakref.WeakKeyDictionary[Any, SqsState] = weakref.WeakKeyDictionary()


def state_for(core: BrokerCore) -> SqsState:
    """The one SqsState of `core` (every SQS front-end built for it shares the cache,
    e.g. the server's and provisioning's); it forgets deleted queues at a reset."""
    state = _STATES.get(core)
    if state is None:
        state = _STATES[core] = SqsState(core.catalog)
        on_reset(core, state.reset)
    return state


class SqsState:
    """Per-queue SQS-only facts, durable in the catalog (see module docstring)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cache: dict[str, dict[str, Any]] = {}

    def get(self, name: str) -> dict[str, Any]:
        """The queue's SQS state; `created` 0 when the queue was not made through SQS."""
        state = self._cache.get(name)
        if state is None:
            stored = self.catalog.kv_get(STATE_NS, name)
            state = dict(stored) if stored else {"created": 0, "modified": 0}
            self._cache[name] = state
        return state

    def put(self, name: str, state: dict[str, Any]) -> None:
        self._cache[name] = state
        self.catalog.kv_put(STATE_NS, name, state)

    def delete(self, name: str) -> None:
        self._cache.pop(name, None)
        self.catalog.kv_delete(STATE_NS, name)

    def reset(self, sel: Selection) -> None:
        """After a reset (core/reset.py): forget the facts of the deleted queues."""
        for name in list(self._cache) if sel.everything else sorted(sel.queues):
            self.delete(name)
