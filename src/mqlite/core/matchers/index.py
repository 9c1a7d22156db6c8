"""BindingIndex: many compiled matchers, one lookup per message (what a router matches with).

Owns, for one router, an index per matcher kind so that a publish does not scan every
binding: direct keys in a dict, topic keys in RabbitMQ's trie, fanout in a list, SNS
filter policies and EventBridge patterns by a set of their conditions (`hints.index_hints`:
exact values by dict; string prefixes and suffixes probed for each prefix/suffix length
in use; numeric ranges in an interval tree, `ranges.RangeIndex`): AWS-style candidate
selection, then the full check on the few candidates. Only headers, glob and policies
with no indexable condition (anything-but / exists / cidr / wildcard only) are scanned.

Selectivity: a content entry is filed under the alternative whose conditions the fewest
entries share (`_freq` counts, per (scope, path, key), the entries having that condition;
numeric intervals count per path), so rules that all share `source` are filed under
their distinguishing field. When a condition's count reaches REPICK_MIN, and again
each time it doubles, the entries filed under it are re-picked against the current
counts (amortised O(1) per add), so entries filed early under a then-rare condition
move when it becomes common.

`MatcherKind` names the languages; `compile_matcher(kind, spec, args)` validates and
compiles one binding's matcher (InvalidPattern with the real system's message).
`MessageView` decodes a message lazily, once per publish (JSON body, SNS attribute view,
headers table), whatever number of bindings look at it.

Entries are any hashable objects with `.matcher`, `.spec`, `.compiled` and `.seq`
(the router's `Binding`). Invariants: an entry is in exactly the structures its kind
selects (a content entry: in the buckets of exactly one sound hint set, `_chosen[e]`);
`match` returns entries in `seq` order, each once, exactly those a full scan would; a
matcher that raises on a message counts as no match. The direct+topic result of a
routing key is cached (at most KEY_CACHE_SIZE keys); any direct/topic add or remove
clears the cache. Concurrency: single-threaded (core's loop).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from enum import Enum
from typing import Any, Protocol

import orjson

from mqlite.core.errors import InvalidValue
from mqlite.core.matchers.content import Hint, canon, eval_node
from mqlite.core.matchers.event_pattern import compile_event_pattern
from mqlite.core.matchers.glob import compile_glob
from mqlite.core.matchers.headers import compile_headers
from mqlite.core.matchers.hints import condition_keys, index_hints, path_values
from mqlite.core.matchers.ranges import RangeIndex
from mqlite.core.matchers.sns_filter import (
    attributes_view,
    compile_sns_filter,
    rounded,
)
from mqlite.core.matchers.topic import TopicTrie, compile_topic

log = logging.getLogger("mqlite.core.matchers")


class MatcherKind(str, Enum):
    DIRECT = "direct"
    FANOUT = "fanout"
    TOPIC = "topic"
    HEADERS = "headers"
    GLOB = "glob"
    SNS = "sns"
    EVENT_PATTERN = "event_pattern"


class Entry(Protocol, Hashable):
    @property
    def matcher(self) -> MatcherKind: ...

    @property
    def spec(self) -> Any: ...

    @property
    def compiled(self) -> Any: ...

    @property
    def seq(self) -> int: ...


def matcher_kind(matcher: MatcherKind | str) -> MatcherKind:
    if isinstance(matcher, MatcherKind):
        return matcher
    try:
        return MatcherKind(matcher)
    except ValueError:
        raise InvalidValue("matcher", f"unknown matcher kind {matcher!r}") from None


def _load_spec(spec: Any) -> Any:
    if isinstance(spec, (bytes, bytearray)):
        spec = bytes(spec).decode()
    return spec


def compile_matcher(kind: MatcherKind, spec: Any, args: Mapping[str, Any]) -> Any:
    """Validate and compile a binding's matcher (raises InvalidPattern / InvalidValue)."""
    if kind is MatcherKind.DIRECT or kind is MatcherKind.TOPIC:
        if not isinstance(spec, str):
            raise InvalidValue("routing_key", "a routing key must be a string")
        return compile_topic(spec) if kind is MatcherKind.TOPIC else spec.__eq__
    if kind is MatcherKind.FANOUT:
        return None
    if kind is MatcherKind.HEADERS:
        return compile_headers(spec if isinstance(spec, Mapping) else {})
    if kind is MatcherKind.GLOB:
        if not isinstance(spec, (str, bytes)):
            raise InvalidValue("pattern", "a glob pattern must be a string")
        return compile_glob(spec)
    if kind is MatcherKind.SNS:
        return compile_sns_filter(_load_spec(spec), args.get("scope", "MessageAttributes"))
    if kind is MatcherKind.EVENT_PATTERN:
        return compile_event_pattern(_load_spec(spec))
    raise InvalidValue("matcher", f"unknown matcher kind {kind!r}")  # pragma: no cover


def normalize_spec(kind: MatcherKind, spec: Any, compiled: Any) -> Any:
    """The durable form of a spec: parsed JSON for sns/event_pattern, str for glob."""
    if kind is MatcherKind.SNS or kind is MatcherKind.EVENT_PATTERN:
        return compiled.source
    if kind is MatcherKind.GLOB and isinstance(spec, bytes):
        return spec.decode("latin-1")
    if kind is MatcherKind.HEADERS:
        return dict(spec or {})
    return spec


_UNSET = object()


class MessageView:
    """One message as matchers see it; decodings are computed at most once."""

    __slots__ = ("_attrs", "_body", "_sns_body", "attributes", "body_bytes", "headers", "routing_key")

    def __init__(
        self,
        routing_key: str,
        body: bytes,
        attributes: Mapping[str, Any],
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        self.routing_key = routing_key
        self.body_bytes = body
        self.attributes = attributes
        self.headers = headers
        self._body: Any = _UNSET
        self._sns_body: Any = _UNSET
        self._attrs: dict[str, Any] | None = None

    def body(self) -> Any:
        """The JSON-decoded body, or None when it is not JSON."""
        if self._body is _UNSET:
            try:
                self._body = orjson.loads(self.body_bytes)
            except (orjson.JSONDecodeError, TypeError):
                self._body = None
        return self._body

    def sns_body(self) -> Any:
        """The decoded body with its numbers at SNS filter accuracy (MessageBody scope)."""
        if self._sns_body is _UNSET:
            self._sns_body = rounded(self.body())
        return self._sns_body

    def attrs(self) -> dict[str, Any]:
        if self._attrs is None:
            self._attrs = attributes_view(self.attributes)
        return self._attrs

    def header_table(self) -> Mapping[str, Any]:
        if self.headers is not None:
            return self.headers
        return {k: getattr(a, "value", a) for k, a in self.attributes.items()}


def check(e: Entry, view: MessageView) -> bool:
    """Does one entry's matcher accept the message? Never raises."""
    try:
        m = e.matcher
        if m is MatcherKind.FANOUT:
            return True
        if m is MatcherKind.SNS:
            if e.compiled.scope == "MessageBody":
                body = view.sns_body()
                return type(body) is dict and eval_node(e.compiled.root, body)
            return eval_node(e.compiled.root, view.attrs())
        if m is MatcherKind.EVENT_PATTERN:
            return bool(e.compiled.matches(view.body()))
        if m is MatcherKind.HEADERS:
            return bool(e.compiled(view.header_table()))
        return bool(e.compiled(view.routing_key))
    except Exception:  # a malformed message must not break other bindings
        log.exception("matcher %s failed on a message", e)
        return False


KEY_CACHE_SIZE = 8192
_NONE = object()
#: when this many content entries share a condition (and at each doubling), those filed
#: under it are re-filed under their currently rarest conditions
REPICK_MIN = 4
#: the frequency key counting, per (src, path), the entries with a numeric interval there
RANGES = ("r*",)


def _seq(e: Entry) -> int:
    return e.seq


def _source(e: Entry) -> str:
    if e.matcher is MatcherKind.SNS:
        return "attr" if e.compiled.scope == "MessageAttributes" else "snsbody"
    return "body"


class BindingIndex:
    """See module docstring."""

    def __init__(self) -> None:
        self._direct: dict[str, dict[Entry, None]] = {}
        self._topic = TopicTrie()
        self._always: dict[Entry, None] = {}
        self._scan: dict[Entry, None] = {}
        self._content: dict[tuple[str, tuple[str, ...]], dict[Any, dict[Entry, None]]] = {}
        # (src, path) -> {prefix (suffix) length: how many prefix (suffix) keys of it}
        self._prefix_lens: dict[tuple[str, tuple[str, ...]], dict[int, int]] = {}
        self._suffix_lens: dict[tuple[str, tuple[str, ...]], dict[int, int]] = {}
        # (src, path) -> the numeric interval keys there
        self._ranges: dict[tuple[str, tuple[str, ...]], RangeIndex] = {}
        # selectivity: how many content entries have each (src, path, key) condition
        # (path, RANGES) counts entries with any interval at path; each content entry's
        # conditions and the hint set it is filed under
        self._freq: dict[tuple[Any, ...], int] = {}
        self._conds: dict[Entry, tuple[tuple[Any, ...], ...]] = {}
        self._chosen: dict[Entry, frozenset[Hint]] = {}
        # condition -> its frequency at its last re-pick (re-pick again at double)
        self._repicked: dict[tuple[Any, ...], int] = {}
        # routing key -> its direct+topic matches; cleared whenever those bindings change
        self._key_cache: dict[str, tuple[Entry, ...]] = {}

    def add(self, e: Entry) -> None:
        m = e.matcher
        if m is MatcherKind.DIRECT or m is MatcherKind.TOPIC:
            self._key_cache.clear()
        if m is MatcherKind.DIRECT:
            self._direct.setdefault(e.spec, {})[e] = None
        elif m is MatcherKind.TOPIC:
            self._topic.add(e.spec, e)
        elif m is MatcherKind.FANOUT:
            self._always[e] = None
        elif m is MatcherKind.SNS or m is MatcherKind.EVENT_PATTERN:
            self._add_content(e)
        else:
            self._scan[e] = None

    def remove(self, e: Entry) -> None:
        m = e.matcher
        if m is MatcherKind.DIRECT or m is MatcherKind.TOPIC:
            self._key_cache.clear()
        if m is MatcherKind.DIRECT:
            d = self._direct.get(e.spec)
            if d is not None:
                d.pop(e, None)
                if not d:
                    del self._direct[e.spec]
        elif m is MatcherKind.TOPIC:
            self._topic.remove(e.spec, e)
        elif m is MatcherKind.FANOUT:
            self._always.pop(e, None)
        else:
            self._scan.pop(e, None)
            chosen = self._chosen.pop(e, None)
            if chosen is not None:
                src = _source(e)
                self._unfile(e, src, chosen)
                freq = self._freq
                for c in self._conds.pop(e, ()):
                    left = freq[c] - 1
                    if left:
                        freq[c] = left
                    else:
                        del freq[c]
                        self._repicked.pop(c, None)

    # -- content entries: filed under their rarest conditions -----------------------------

    def _add_content(self, e: Entry) -> None:
        root = e.compiled.root
        if index_hints(root) is None:
            self._scan[e] = None
            return
        src = _source(e)
        conds: set[tuple[Any, ...]] = set()
        for path, key in condition_keys(root):
            conds.add((src, path, key))
            if key[0] == "r":
                conds.add((src, path, RANGES))
        freq = self._freq
        repicked = self._repicked
        crowded = []
        for c in conds:
            n = freq[c] = freq.get(c, 0) + 1
            if n >= REPICK_MIN and n >= 2 * repicked.get(c, 0):
                repicked[c] = n
                crowded.append(c)
        self._conds[e] = tuple(conds)
        chosen = self._pick(src, root)
        self._chosen[e] = chosen
        self._file(e, src, chosen)
        for _src, path, key in crowded:  # entries filed under a condition now common
            by_value = self._content.get((src, path))
            if not by_value:
                continue
            if key == RANGES:
                rng = self._ranges.get((src, path))
                keys: Any = list(rng._keys) if rng is not None else ()
            else:
                keys = (key,)
            members = [m for k in keys for m in by_value.get(k, ())]
            if members:
                self._repick(src, members)

    def _pick(self, src: str, root: Any) -> frozenset[Hint]:
        """The entry's hint set whose keys the fewest entries share (then the smallest)."""
        freq = self._freq

        def cost(h: frozenset[Hint]) -> tuple[int, int]:
            total = 0
            for path, key in h:
                total += freq.get((src, path, RANGES if key[0] == "r" else key), 0)
            return total, len(h)

        hints = index_hints(root, cost=cost)
        assert hints is not None
        return hints

    def _repick(self, src: str, entries: list[Entry]) -> None:
        """Re-file entries of a crowded bucket under their now rarest conditions."""
        for m in entries:
            old = self._chosen.get(m)
            if old is None:
                continue
            new = self._pick(src, m.compiled.root)
            if new != old:
                self._unfile(m, src, old)
                self._file(m, src, new)
                self._chosen[m] = new

    def _file(self, e: Entry, src: str, hints: frozenset[Hint]) -> None:
        for path, key in hints:
            by_value = self._content.setdefault((src, path), {})
            members = by_value.get(key)
            if members is None:
                members = by_value[key] = {}
                kind = key[0]
                if kind == "p" or kind == "x":
                    table = self._prefix_lens if kind == "p" else self._suffix_lens
                    lens = table.setdefault((src, path), {})
                    lens[len(key[1])] = lens.get(len(key[1]), 0) + 1
                elif kind == "r":
                    rng = self._ranges.get((src, path))
                    if rng is None:
                        rng = self._ranges[(src, path)] = RangeIndex()
                    rng.add(key)
            members[e] = None

    def _unfile(self, e: Entry, src: str, hints: frozenset[Hint]) -> None:
        for path, key in hints:
            by_value = self._content.get((src, path))
            if by_value is None:
                continue
            members = by_value.get(key)
            if members is not None:
                members.pop(e, None)
                if not members:
                    del by_value[key]
                    self._repicked.pop((src, path, key), None)
                    kind = key[0]
                    if kind == "p" or kind == "x":
                        self._forget_affix(kind, src, path, len(key[1]))
                    elif kind == "r":
                        rng = self._ranges[(src, path)]
                        rng.discard(key)
                        if not len(rng):
                            del self._ranges[(src, path)]
            if not by_value:
                del self._content[(src, path)]

    def _keyed(self, rk: str) -> tuple[Entry, ...]:
        """Direct and topic matches of a routing key, in seq order (then cached)."""
        found: dict[Entry, None] = self._topic.match_dict(rk) if len(self._topic) else {}
        if self._direct:
            d = self._direct.get(rk)
            if d:
                found.update(d)
        keyed = tuple(sorted(found, key=_seq)) if len(found) > 1 else tuple(found)
        if len(self._key_cache) >= KEY_CACHE_SIZE:
            self._key_cache.clear()
        self._key_cache[rk] = keyed
        return keyed

    def _forget_affix(self, kind: str, src: str, path: tuple[str, ...], length: int) -> None:
        table = self._prefix_lens if kind == "p" else self._suffix_lens
        lens = table.get((src, path))
        if lens is None:
            return
        left = lens.get(length, 0) - 1
        if left > 0:
            lens[length] = left
        else:
            lens.pop(length, None)
            if not lens:
                del table[(src, path)]

    @property
    def keyed_only(self) -> bool:
        """True when every entry is direct/topic: the routing key alone decides."""
        return not (self._always or self._content or self._scan)

    def match_key(self, routing_key: str) -> list[Any]:
        """`match` for a keyed-only index: no message view needed."""
        keyed = self._key_cache.get(routing_key)
        if keyed is None:
            keyed = self._keyed(routing_key)
        return list(keyed)

    def match(self, view: MessageView) -> list[Any]:
        """Every entry whose matcher accepts the message, in `seq` order."""
        rk = view.routing_key
        keyed = self._key_cache.get(rk)
        if keyed is None:
            keyed = self._keyed(rk)
        if not (self._always or self._content or self._scan):
            return list(keyed)
        out: dict[Entry, None] = dict.fromkeys(keyed)
        if self._always:
            out.update(self._always)
        if self._content:
            buckets: list[dict[Entry, None]] = []
            for (src, path), by_value in self._content.items():
                if src == "attr":  # flat: one attribute name
                    v = view.attrs().get(path[0], _NONE)
                    if v is _NONE:
                        continue
                    values: Any = (v,) if type(v) is not list else path_values(v, ())
                else:
                    body = view.sns_body() if src == "snsbody" else view.body()
                    if type(body) is not dict:
                        continue
                    if len(path) == 1:
                        v = body.get(path[0], _NONE)
                        if v is _NONE:
                            continue
                        values = (v,) if type(v) is not list else path_values(v, ())
                    else:
                        values = path_values(body, path)
                plens = self._prefix_lens.get((src, path))
                slens = self._suffix_lens.get((src, path))
                rng = self._ranges.get((src, path))
                for v in values:
                    members = by_value.get(canon(v))
                    if members:
                        buckets.append(members)
                    tv = type(v)
                    if tv is str:
                        n = len(v)
                        if plens:
                            for length in plens:
                                if length <= n:
                                    members = by_value.get(("p", v[:length]))
                                    if members:
                                        buckets.append(members)
                        if slens:
                            for length in slens:
                                if length <= n:
                                    members = by_value.get(("x", v[n - length:]))
                                    if members:
                                        buckets.append(members)
                    elif rng is not None and (tv is int or tv is float):
                        for rkey in rng.stab(v):
                            buckets.append(by_value[rkey])
            if buckets:
                if len(buckets) == 1:
                    for e in buckets[0]:
                        if check(e, view):
                            out[e] = None
                else:
                    seen: set[Entry] = set()
                    for members in buckets:
                        for e in members:
                            if e not in seen:
                                seen.add(e)
                                if check(e, view):
                                    out[e] = None
        for e in self._scan:
            if check(e, view):
                out[e] = None
        if len(out) > 1:
            return sorted(out, key=_seq)
        return list(out)
