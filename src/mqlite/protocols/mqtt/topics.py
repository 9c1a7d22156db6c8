"""MQTT topic names and filters: validation, matching, and RabbitMQ's mapping to amq.topic keys.

Rules (MQTT 5.0 section 4.7, the same in 3.1.1):
- a topic name is at least one character, has no `+` or `#`, no U+0000;
- a filter is at least one character; `#` only as the whole last level; `+` only as a
  whole level; empty levels (`a//b`, `/a`) are allowed in both;
- a topic starting with `$` is not matched by a filter starting with `+` or `#`
  (so `$SYS/...` is not in `#`);
- `$share/<group>/<filter>`: a shared subscription; the group is non-empty and has no
  `/`, `+` or `#`.

The amq.topic mapping is RabbitMQ's MQTT plugin's: `/` and `.` swap places (so
`a/b.c` is routing key `a.b/c` and back), `+` is `*`, `#` is `#`. MQTT filters are
re-checked with MQTT's rules on delivery (`matches`), since AMQP's `*` and `#` also
reach `$` topics. Pure functions.
"""

from __future__ import annotations

from functools import lru_cache

_SWAP = str.maketrans({"/": ".", ".": "/"})
SHARE_PREFIX = "$share/"


def valid_name(topic: str) -> bool:
    return bool(topic) and "+" not in topic and "#" not in topic and len(topic.encode()) <= 65535


def valid_filter(flt: str) -> bool:
    if not flt:
        return False
    levels = flt.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def split_shared(flt: str) -> tuple[str | None, str]:
    """(group, filter) of `$share/<group>/<filter>`; (None, flt) for a plain filter.
    Raises ValueError for a malformed shared subscription."""
    if not flt.startswith(SHARE_PREFIX):
        return None, flt
    rest = flt[len(SHARE_PREFIX):]
    group, sep, inner = rest.partition("/")
    if not group or not sep or "+" in group or "#" in group or not valid_filter(inner):
        raise ValueError(f"invalid shared subscription {flt!r}")
    return group, inner


@lru_cache(maxsize=4096)
def _levels(flt: str) -> tuple[str, ...]:
    return tuple(flt.split("/"))


def matches(flt: str, topic: str) -> bool:
    """Whether MQTT filter `flt` matches topic name `topic`."""
    if topic.startswith("$") and flt[:1] in ("+", "#"):
        return False
    fl = _levels(flt)
    tl = topic.split("/")
    for i, level in enumerate(fl):
        if level == "#":
            return True
        if i >= len(tl):
            return False
        if level != "+" and level != tl[i]:
            return False
    return len(fl) == len(tl)


def to_routing_key(topic: str) -> str:
    """An MQTT topic name or filter as an amq.topic routing key or binding key."""
    return topic.translate(_SWAP).replace("+", "*")


def from_routing_key(key: str) -> str:
    """An amq.topic routing key as the MQTT topic name a subscriber sees."""
    return key.translate(_SWAP)
