"""Index hints of compiled content patterns (SNS filter policies, EventBridge patterns).

`index_hints(root, cost=len)` picks a set of (path, key) conditions of which every
matching event satisfies at least one (so a router need only evaluate a pattern for
events that hold one of the keys); `condition_keys(root)` lists every condition such a
set could contain (the router counts how many bindings share each, to pick the rarest);
`path_values(event, path)` is what an event holds at a path. Key kinds (`Hint`): exact
values (`content.canon`), ("p", text) prefixes, ("x", text) suffixes, ("r", lo, hi)
closed numeric intervals (open ends widened: a candidate set may over-approximate; the
router always runs the full match on candidates).

Invariants: a hint set is sound for the pattern (no matching event is outside it).
Concurrency: pure functions; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mqlite.core.matchers.content import Hint, Leaf, Node, leaf_values, objects_in


def index_hints(
    node: Node,
    path: tuple[str, ...] = (),
    cost: Callable[[frozenset[Hint]], Any] = len,
) -> frozenset[Hint] | None:
    """A set of (path, key) of which any matching event satisfies at least one: key is an
    exact value (`canon`) the event holds at path, ("p", text) a prefix or ("x", text) a
    suffix of a string it holds there, or ("r", lo, hi) an interval holding one of its
    numbers there.

    Of the possible sets (one per indexable field, each nested object's best, and each
    `$or` group's union of its branches' best), the one of least `cost` (default: the
    fewest keys; the router passes how many bindings share the keys), the first on ties.
    None when no such set exists (the pattern must then be evaluated for every event).
    The router uses it to evaluate only candidate bindings against an event.
    """
    best: frozenset[Hint] | None = None
    best_cost: Any = None
    for key, sub in node.fields:
        if type(sub) is Leaf:
            if sub.keys is not None and not sub.exists_false and not sub.exists_true:
                h = frozenset(((*path, key), e) for e in sub.keys)
            else:
                continue
        else:
            h2 = index_hints(sub, (*path, key), cost)  # type: ignore[arg-type]
            if h2 is None:
                continue
            h = h2
        c = cost(h)
        if best is None or c < best_cost:
            best, best_cost = h, c
    for group in node.ors:
        acc: set[Hint] = set()
        for b in group:
            hb = index_hints(b, path, cost)
            if hb is None:
                break
            acc |= hb
        else:
            h = frozenset(acc)
            c = cost(h)
            if best is None or c < best_cost:
                best, best_cost = h, c
    return best


def condition_keys(node: Node, path: tuple[str, ...] = (), out: set[Hint] | None = None
                   ) -> set[Hint]:
    """Every (path, key) any `index_hints` choice of this pattern could contain."""
    if out is None:
        out = set()
    for key, sub in node.fields:
        if type(sub) is Leaf:
            if sub.keys is not None and not sub.exists_false and not sub.exists_true:
                for e in sub.keys:
                    out.add(((*path, key), e))
        else:
            condition_keys(sub, (*path, key), out)  # type: ignore[arg-type]
    for group in node.ors:
        for b in group:
            condition_keys(b, path, out)
    return out


def path_values(obj: Any, path: tuple[str, ...]) -> list[Any]:
    """Every leaf value of an event at `path` (arrays transparent at every level)."""
    cur: list[Any] = [obj]
    for key in path:
        nxt: list[Any] = []
        for o in cur:
            for d in objects_in(o):
                if key in d:
                    nxt.append(d[key])
        cur = nxt
        if not cur:
            return cur
    out: list[Any] = []
    for v in cur:
        leaf_values(v, out)
    return out
