"""SNS facts shared by every action family: ARNs, names, and the front-end's state.

- Topic ARNs `arn:aws:sns:<region>:<account>:<name>`; subscription ARNs
  `<topic arn>:<uuid>`; SQS endpoints are queue ARNs `arn:aws:sqs:<r>:<a>:<queue>` and
  name the core queue `<queue>`.
- Accounts and regions are isolated: a topic is the core router named by
  `namespace.py` (bare in the server's default account and region, `<name>@<region>` in
  another region, `<account>:<name>` in another account). While a request is served
  (`namespace.CURRENT`, set by the HTTP app) an ARN of another region names no topic, an
  ARN of another account names that account's topic (authorization decides), and
  listings show the request's account and region only; without a request the ARN is
  taken as the home namespace's.
- A topic is a core router of kind `sns` named as above; its config holds
  `dedupe: False` and `sns: {attributes, tags, arn}` (durable through the registry).
- A subscription is a binding of that router with id = the subscription's uuid; its
  args hold `transform: "sns"` and `sns: {...}` (protocol, endpoint, attributes,
  confirmation state and token), so everything survives restart with the router.
- `SnsState` is per broker core (`state_for(core, settings)`): the signer (lazy), the
  outbox, FIFO topic dedup windows and sequence numbers; `build()` and the extra HTTP
  routes share it. Concurrency: the server's event loop only.
- FIFO dedup windows are core's `DedupWindow` (the one SQS FIFO queues use), made
  durable here: each entry (dedup key -> first publish's ms, MessageId, SequenceNumber)
  is also written to the catalog kv namespace `sns.dedup/<topic>` (`remember_dedup`
  queues it, `flush_dedup` writes a request's entries, and deletes the rows of entries
  that expired, in one transaction before the request's messages are delivered); a window is loaded lazily on
  its topic's first FIFO publish after a start (expired entries are dropped then), so a
  retry after a restart within 5 minutes still returns the first MessageId. Sequence
  numbers start from the clock (ms * 1000) at each start, so they keep increasing.
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from mqlite.core.api import DEDUP_WINDOW_MS, BrokerCore, DedupWindow, RouterRegistry, Selection
from mqlite.core.reset import on_reset
from mqlite.core.router import Binding, Router
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.errors import invalid_parameter, not_found
from mqlite.settings import Settings

KIND = "sns"
TRANSFORM = "sns"
TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
MAX_MESSAGE_BYTES = 256 * 1024  # body + attributes, AWS's documented Publish limit
DEDUP_NS = "sns.dedup/"  # + topic name: catalog kv of a FIFO topic's dedup window
DedupEntry = tuple[int, str, str]  # (first publish ms, MessageId, SequenceNumber)
PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")


def topic_arn(ctx: AwsContext, name: str) -> str:
    """The ARN of topic `name` (an SNS name) in the request's account and region."""
    return f"arn:aws:sns:{ctx.region}:{ctx.account}:{name}"


def core_topic_name(name: str, ctx: AwsContext) -> str:
    """The core router of topic `name` in the request's namespace (see module docstring)."""
    return namespace.of(ctx).core(name) or name


def in_request_region(router_name: str) -> bool:
    """Whether a topic's router belongs to the namespace (account and region) of the
    request being served (every topic outside a request)."""
    ns = namespace.CURRENT.get()
    return ns is None or ns.local(router_name) is not None


def _arn_namespace(account: str, region: str, what: str) -> namespace.Namespace | None:
    ns = namespace.CURRENT.get()
    if ns is not None and region != ns.region:
        raise not_found(what)  # another region's resource: invisible here
    return None if ns is None else ns.at(account or None)


def _core(ns: namespace.Namespace | None, name: str, what: str) -> str:
    if ns is None:
        return name
    found = ns.core(name)
    if found is None:
        raise not_found(what)
    return found


def parse_topic_arn(arn: Any, param: str = "TopicArn") -> str:
    """The core router name of the topic in a topic ARN (its account; namespace.py);
    InvalidParameter when it is not one, NotFound when it is another region's."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        raise invalid_parameter(f"Invalid parameter: {param}")
    what = "Topic does not exist"
    return _core(_arn_namespace(parts[4], parts[3], what), parts[5], what)


def parse_subscription_arn(arn: Any, param: str = "SubscriptionArn") -> tuple[str, str]:
    """(core topic name, subscription id) of a subscription ARN."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 7 or parts[0] != "arn" or not parts[5] or not parts[6]:
        raise invalid_parameter(f"Invalid parameter: {param}")
    if parts[2] != "sns":  # a well-formed ARN of another service names no subscription
        raise not_found("Subscription does not exist")
    what = "Subscription does not exist"
    return _core(_arn_namespace(parts[4], parts[3], what), parts[5], what), parts[6]


def queue_name_from_arn(arn: str) -> str | None:
    """The core queue an SQS endpoint ARN names, in the ARN's account and region (a
    subscription may deliver to another region's or account's queue, as SNS does)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        return None
    ns = namespace.CURRENT.get()
    if ns is None:
        return parts[5]
    return ns.at(parts[4] or None, parts[3] or None).core(parts[5])


def now_ms() -> int:
    return int(time.time() * 1000)


_last_second: list[Any] = [None, ""]  # (whole second, its formatted text): batches share it


def iso_timestamp(ms: int) -> str:
    """SNS's Timestamp format: 2012-04-25T21:49:25.719Z."""
    second = ms // 1000
    if _last_second[0] != second:
        _last_second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_last_second[1]}.{ms % 1000:03d}Z"


_RANDOM = bytearray()  # os.urandom read 4 KiB at a time: one system call per 256 ids


def new_id() -> str:
    """A random (version 4) UUID string, as SNS MessageIds are; ~3x cheaper than
    `str(uuid.uuid4())`, which builds a UUID object (and reads os.urandom) per message."""
    if not _RANDOM:
        _RANDOM.extend(os.urandom(4096))
    b = _RANDOM[-16:]
    del _RANDOM[-16:]
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class SnsState:
    """Per-core SNS state (see module docstring)."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self._core = weakref.ref(core)  # the core owns us (see state_for), not the reverse
        self.settings = settings
        self._signer: Any = None
        self._sign_pool: Any = None  # sign_pool.SignPool, made on first use
        self._coalescer: Any = None  # fanout.Coalescer, made on first use
        self.outbox: list[dict[str, Any]] = []
        self.dedup: dict[str, DedupWindow] = {}  # topic -> core's window (loaded lazily)
        self._dedup_dirty: list[tuple[str, str, DedupEntry]] = []
        self._dedup_expired: list[tuple[str, list[str]]] = []  # catalog rows to delete
        self._seq = itertools.count(now_ms() * 1000)
        self.routes_mounted = False
        self.token = uuid.uuid4().hex  # names this state in envelopes (see envelope.py)
        # message id (+ protocol variant) -> signed common notification part (envelope.py)
        self.sign_cache: collections.OrderedDict[str, Any] = collections.OrderedDict()  # -> envelope.Common
        _BY_TOKEN[self.token] = self

    @property
    def core(self) -> BrokerCore:
        core = self._core()
        assert core is not None, "the broker core is gone"
        return core

    # -- signing -------------------------------------------------------------------------
    @property
    def signer(self) -> Any:
        if self._signer is None:
            from mqlite.protocols.aws.sns.signing import Signer

            data_dir = getattr(self.core, "data_dir", None)
            self._signer = Signer.load_or_create(None if data_dir is None else data_dir / "sns")
        return self._signer

    @property
    def sign_pool(self) -> Any:
        if self._sign_pool is None:
            from mqlite.protocols.aws.sns.sign_pool import SignPool, default_workers

            workers = self.settings.sns_sign_workers
            self._sign_pool = SignPool(self.signer, default_workers() if workers is None else workers)
        return self._sign_pool

    @property
    def coalescer(self) -> Any:
        """The fanout.Coalescer of every publish on this core (SNS's own Publish and
        PublishBatch, EventBridge's SNS targets): one, so a FIFO topic's batches keep
        their order whoever published them."""
        if self._coalescer is None:
            from mqlite.protocols.aws.sns.fanout import Coalescer

            self._coalescer = Coalescer(self)
        return self._coalescer

    def close_signing(self) -> None:
        """Stop the signing workers (signing is inline afterwards)."""
        if self._sign_pool is not None:
            self._sign_pool.close()

    def cert_url(self, base_url: str) -> str:
        return f"{base_url}/_mqlite/sns/{self.signer.cert_name}"

    @property
    def unsigned_links(self) -> bool:
        """SubscribeURL/UnsubscribeURL must avoid the query API: it demands SigV4 when
        any user is configured (AWS serves these links unauthenticated), so they point
        at this front-end's own routes (routes.py), when those are mounted."""
        from mqlite.security.users import Users

        return self.routes_mounted and Users.from_settings(self.settings).enabled

    def subscribe_url(self, base_url: str, topic_arn: str, token: str) -> str:
        arn = quote(topic_arn, safe=":")
        if self.unsigned_links:
            return f"{base_url}/_mqlite/sns/confirm?TopicArn={arn}&Token={token}"
        return f"{base_url}/?Action=ConfirmSubscription&TopicArn={arn}&Token={token}"

    def unsubscribe_url(self, base_url: str, subscription_arn: str) -> str:
        if self.unsigned_links:
            return f"{base_url}/_mqlite/sns/unsubscribe?SubscriptionArn={subscription_arn}"
        return f"{base_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"

    def next_sequence(self) -> str:
        return f"{next(self._seq):020d}"

    # -- FIFO dedup windows (durable, see module docstring) --------------------------------
    def dedup_window(self, topic: str) -> DedupWindow:
        """The topic's live window (core's `DedupWindow`, as SQS FIFO queues use), loaded
        from the catalog on first use after a start."""
        window = self.dedup.get(topic)
        if window is None:
            window = DedupWindow()
            now = now_ms()
            live: list[tuple[int, str, str, str]] = []
            stale: list[str] = []
            for key, value in self.core.catalog.kv_items(DEDUP_NS + topic):
                if isinstance(value, list) and len(value) == 3 and now - int(value[0]) < DEDUP_WINDOW_MS:
                    live.append((int(value[0]), key, str(value[1]), str(value[2])))
                else:
                    stale.append(key)
            for sent, key, msg_id, seq in sorted(live):  # oldest first: they expire first
                window.put(key, sent, msg_id, seq)
            self._forget(topic, stale)
            self.dedup[topic] = window
        return window

    def find_duplicate(self, topic: str, key: str, now: int) -> tuple[str, str] | None:
        """(MessageId, SequenceNumber) of the first publish of `key` in the last 5
        minutes; entries that expired are deleted from the catalog by `flush_dedup`."""
        window = self.dedup_window(topic)
        gone = window.expire(now)
        if gone:
            self._dedup_expired.append((topic, gone))
        return window.get(key, now)

    def remember_dedup(self, topic: str, key: str, entry: DedupEntry) -> None:
        """Record a first publish; written to the catalog by the next `flush_dedup`."""
        self.dedup_window(topic).put(key, *entry)
        self._dedup_dirty.append((topic, key, entry))

    def flush_dedup(self) -> None:
        """Write the recorded dedup entries, and delete expired ones, in one transaction."""
        if not self._dedup_dirty and not self._dedup_expired:
            return
        dirty, self._dedup_dirty = self._dedup_dirty, []
        expired, self._dedup_expired = self._dedup_expired, []
        catalog = self.core.catalog
        with catalog.transaction():
            for topic, keys in expired:
                for key in keys:
                    catalog.kv_delete(DEDUP_NS + topic, key)
            for topic, key, entry in dirty:
                catalog.kv_put(DEDUP_NS + topic, key, list(entry))

    def reset(self, sel: Selection) -> None:
        """After a reset (core/reset.py): forget the dedup windows of deleted topics."""
        gone = set(self.dedup) if sel.everything else sel.routers
        for topic in sorted(gone & set(self.dedup)):
            self.drop_dedup(topic)
        self._dedup_dirty = [] if sel.everything else [d for d in self._dedup_dirty if d[0] not in gone]
        self._dedup_expired = [] if sel.everything else [d for d in self._dedup_expired if d[0] not in gone]

    def drop_dedup(self, topic: str) -> None:
        """Forget a (deleted) topic's window, in memory and in the catalog."""
        self.dedup.pop(topic, None)
        self.core.catalog.kv_delete(DEDUP_NS + topic)

    def _forget(self, topic: str, keys: list[str]) -> None:
        if keys:
            catalog = self.core.catalog
            with catalog.transaction():
                for key in keys:
                    catalog.kv_delete(DEDUP_NS + topic, key)

    # -- topics ----------------------------------------------------------------------------
    @property
    def registry(self) -> RouterRegistry:
        return self.core.routers

    def topic(self, name: str) -> Router:
        router = self.registry.find(name)
        if router is None or router.kind != KIND:
            raise not_found("Topic does not exist")
        return router

    def topic_by_arn(self, arn: Any, param: str = "TopicArn") -> Router:
        return self.topic(parse_topic_arn(arn, param))

    def topics(self) -> list[Router]:
        """The topics of the request's region (all of them outside a request)."""
        return [r for r in self.registry.routers() if r.kind == KIND and in_request_region(r.name)]

    @staticmethod
    def topic_info(router: Router) -> dict[str, Any]:
        return dict(router.config.get("sns") or {})

    def save_topic(self, router: Router, info: dict[str, Any]) -> None:
        config = dict(router.config)
        config["sns"] = info
        self.registry.set_config(router.name, config)

    # -- subscriptions ---------------------------------------------------------------------
    @staticmethod
    def subscriptions(router: Router) -> Iterator[tuple[Binding, dict[str, Any]]]:
        for b in router.bindings():
            info = b.args.get("sns")
            if isinstance(info, dict):
                yield b, info

    def find_subscription(self, arn: Any, param: str = "SubscriptionArn") -> tuple[Router, Binding, dict[str, Any]]:
        topic, sub_id = parse_subscription_arn(arn, param)
        router = self.registry.find(topic)
        b = router.get_binding(sub_id) if router is not None and router.kind == KIND else None
        if router is None or b is None or not isinstance(b.args.get("sns"), dict):
            raise not_found("Subscription does not exist")
        return router, b, dict(b.args["sns"])


_STATES: weakref.WeakKeyDictionary[Any, SnsState] = weakref.WeakKeyDictionary()
_BY_TOKEN: weakref.WeakValueDictionary[str, SnsState] = weakref.WeakValueDictionary()


def state_for(core: BrokerCore, settings: Settings) -> SnsState:
    """The one SnsState of `core` (created on first call)."""
    state = _STATES.get(core)
    if state is None:
        state = _STATES[core] = SnsState(core, settings)
        on_reset(core, state.reset)
    return state


def state_by_token(token: str) -> SnsState | None:
    return _BY_TOKEN.get(token)
