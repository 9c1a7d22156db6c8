"""AMQP topic matching, as RabbitMQ's topic exchange implements it, plus a trie index.

Keys are split on "." into words. RabbitMQ's splitting rule: the empty key has zero
words; every "." separates two words, so "a." is ["a", ""] and "." is ["", ""] (empty
words are ordinary words). In a binding key `*` matches exactly one word (possibly
empty) and `#` matches zero or more words; so `#` alone matches every key (including
""), `a.#` matches "a", and `a.#.b` matches "a.b" and "a.x.y.b".

`TopicTrie` is RabbitMQ's own design (rabbit_exchange_type_topic's trie): one node per
binding-key word, wildcard edges tried alongside the literal edge, so a publish costs
O(words x branching) rather than a scan over every binding.

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
    fm = topic_regex(binding_key).fullmatch
    return lambda key: fm(_prep(key)) is not None


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


class _Node:
    __slots__ = ("children", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.values: dict[Hashable, None] = {}  # insertion-ordered set


class TopicTrie:
    """Binding keys -> values; `match(routing_key)` returns every value whose key matches."""

    def __init__(self) -> None:
        self._root = _Node()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, binding_key: str, value: Hashable) -> None:
        node = self._root
        for w in split_key(binding_key):
            nxt = node.children.get(w)
            if nxt is None:
                nxt = node.children[w] = _Node()
            node = nxt
        if value not in node.values:
            node.values[value] = None
            self._size += 1

    def remove(self, binding_key: str, value: Hashable) -> bool:
        path: list[tuple[_Node, str]] = []
        node = self._root
        for w in split_key(binding_key):
            nxt = node.children.get(w)
            if nxt is None:
                return False
            path.append((node, w))
            node = nxt
        if value not in node.values:
            return False
        del node.values[value]
        self._size -= 1
        while path and not node.values and not node.children:
            parent, w = path.pop()
            del parent.children[w]
            node = parent
        return True

    def match(self, routing_key: str) -> list[Any]:
        words = split_key(routing_key)
        n = len(words)
        out: dict[Hashable, None] = {}
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[_Node, int]] = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            sig = (id(node), i)
            if sig in seen:
                continue
            seen.add(sig)
            ch = node.children
            hash_child = ch.get("#")
            if i == n:
                if node.values:
                    out.update(node.values)
                if hash_child is not None:
                    stack.append((hash_child, i))
                continue
            w = words[i]
            if w != "*" and w != "#":
                lit = ch.get(w)
                if lit is not None:
                    stack.append((lit, i + 1))
            star = ch.get("*")
            if star is not None:
                stack.append((star, i + 1))
            if hash_child is not None:
                for k in range(i, n + 1):
                    stack.append((hash_child, k))
        return list(out)

    def keys_values(self) -> Iterable[tuple[str, Hashable]]:
        def walk(node: _Node, prefix: list[str]) -> Iterable[tuple[str, Hashable]]:
            for v in node.values:
                yield ".".join(prefix), v
            for w, c in node.children.items():
                yield from walk(c, [*prefix, w])

        return walk(self._root, [])
