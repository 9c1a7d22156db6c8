"""AMQP topic matching, as RabbitMQ's topic exchange implements it, plus a trie index.

Keys are split on "." into words. RabbitMQ's splitting rule: the empty key has zero
words; every "." separates two words, so "a." is ["a", ""] and "." is ["", ""] (empty
words are ordinary words). In a binding key `*` matches exactly one word (possibly
empty) and `#` matches zero or more words; so `#` alone matches every key (including
""), `a.#` matches "a", and `a.#.b` matches "a.b" and "a.x.y.b".

`TopicTrie` is RabbitMQ's own design (rabbit_exchange_type_topic's trie): one node per
binding-key word, wildcard edges tried alongside the literal edge, so a publish costs
O(words x branching) rather than a scan over every binding. Nodes are plain dicts
(word -> child; the key None holds the node's values); a `#` node followed only by
literal words is probed inline at each remaining position, and `#` states reachable
in several ways are visited once (no exponential blow-up with many `#`).

Invariants: the trie holds each (binding key, value) at most once; a removed value
leaves no empty branches behind. Concurrency: single-threaded (core's loop).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from typing import Any


def split_key(key: str) -> list[str]:
    """RabbitMQ's split_topic_key: "" -> [], otherwise str.split(".")."""
    return key.split(".") if key else []


def _prep(key: str) -> str:
    return "." + key if key else ""


def topic_regex(binding_key: str) -> re.Pattern[str]:
    """A regex over "." + key (empty key -> "") that matches exactly RabbitMQ's rule."""
    parts: list[str] = []
    for w in split_key(binding_key):
        if w == "*":
            parts.append(r"\.[^.]*")
        elif w == "#":
            parts.append(r"(?:\.[^.]*)*")
        else:
            parts.append(r"\." + re.escape(w))
    return re.compile("".join(parts), re.DOTALL)


def compile_topic(binding_key: str) -> Callable[[str], bool]:
    """A predicate over routing keys for one binding key."""
    if not isinstance(binding_key, str):
        raise TypeError("a topic binding key is a str")
    words = split_key(binding_key)
    if "*" not in words and "#" not in words:
        return binding_key.__eq__  # type: ignore[return-value]
    if words == ["#"]:
        return lambda _key: True
    if words.count("#") <= 1:  # a regex cannot backtrack badly with one '#'
        fm = topic_regex(binding_key).fullmatch
        return lambda key: fm(_prep(key)) is not None
    return _nfa(words)


def _nfa(pat: list[str]) -> Callable[[str], bool]:
    """O(words x pattern) simulation for keys with several '#' (no backtracking)."""
    m = len(pat)

    def close(states: set[int]) -> set[int]:
        # a '#' may match zero words: its position also stands for the next one
        out = set(states)
        stack = list(states)
        while stack:
            i = stack.pop()
            if i < m and pat[i] == "#" and i + 1 not in out:
                out.add(i + 1)
                stack.append(i + 1)
        return out

    start = close({0})

    def pred(key: str) -> bool:
        states = start
        for w in split_key(key):
            nxt: set[int] = set()
            for i in states:
                if i < m:
                    p = pat[i]
                    if p == "#":
                        nxt.add(i)  # '#' consumes this word and may go on
                    elif p == "*" or p == w:
                        nxt.add(i + 1)
            if not nxt:
                return False
            states = close(nxt)
        return m in states

    return pred


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Reference interpreter: word-by-word recursion, no regex, no trie."""
    pat = split_key(binding_key)
    words = split_key(routing_key)

    def go(i: int, j: int) -> bool:
        if i == len(pat):
            return j == len(words)
        p = pat[i]
        if p == "#":
            return any(go(i + 1, k) for k in range(j, len(words) + 1))
        if j == len(words):
            return False
        if p == "*" or p == words[j]:
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


_VALUES = None  # the key under which a node keeps its values (words are str)


class TopicTrie:
    """Binding keys -> values; `match(routing_key)` returns every value whose key matches.

    Nodes are plain dicts (word -> child, None -> insertion-ordered value set): the
    lookup is CPython dict probes only, which is what makes it fast.
    """

    def __init__(self) -> None:
        self._root: dict[Any, Any] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, binding_key: str, value: Hashable) -> None:
        node = self._root
        for w in split_key(binding_key):
            nxt = node.get(w)
            if nxt is None:
                nxt = node[w] = {}
            node = nxt
        vals = node.get(_VALUES)
        if vals is None:
            vals = node[_VALUES] = {}
        if value not in vals:
            vals[value] = None
            self._size += 1

    def remove(self, binding_key: str, value: Hashable) -> bool:
        path: list[tuple[dict[Any, Any], str]] = []
        node = self._root
        for w in split_key(binding_key):
            nxt = node.get(w)
            if nxt is None:
                return False
            path.append((node, w))
            node = nxt
        vals = node.get(_VALUES)
        if not vals or value not in vals:
            return False
        del vals[value]
        self._size -= 1
        if not vals:
            del node[_VALUES]
        while path and not node:
            parent, w = path.pop()
            del parent[w]
            node = parent
        return True

    def match(self, routing_key: str) -> list[Any]:
        return list(self.match_dict(routing_key))

    def match_dict(self, routing_key: str) -> dict[Any, None]:
        """Matching values as an insertion-ordered set (dict keys)."""
        words = routing_key.split(".") if routing_key else []
        n = len(words)
        out: dict[Any, None] = {}
        seen: set[tuple[int, int]] = set()  # (hash node, position): '#' states visited

        def walk(node: dict[Any, Any], i: int) -> None:
            # follows single paths iteratively; branches recurse
            while True:
                h = node.get("#")
                if h is not None:
                    if "#" in h or "*" in h:
                        hid = id(h)
                        for j in range(i, n + 1):
                            sig = (hid, j)
                            if sig not in seen:
                                seen.add(sig)
                                walk(h, j)
                    else:  # '#' followed by literals only: probe each position inline
                        v = h.get(_VALUES)
                        if v:
                            out.update(v)  # '#' swallows the rest of the key
                        for j in range(i, n):
                            nxt = h.get(words[j])
                            if nxt is not None:
                                walk(nxt, j + 1)
                if i == n:
                    v = node.get(_VALUES)
                    if v:
                        out.update(v)
                    return
                w = words[i]
                star = node.get("*")
                lit = node.get(w) if w != "*" and w != "#" else None
                i += 1
                if star is not None:
                    if lit is not None:
                        walk(star, i)
                    else:
                        node = star
                        continue
                if lit is None:
                    return
                node = lit

        walk(self._root, 0)
        return out

    def keys_values(self) -> Iterable[tuple[str, Hashable]]:
        def walk(node: dict[Any, Any], prefix: list[str]) -> Iterable[tuple[str, Hashable]]:
            for w, c in node.items():
                if w is _VALUES:
                    for v in c:
                        yield ".".join(prefix), v
                else:
                    yield from walk(c, [*prefix, w])

        return walk(self._root, [])
