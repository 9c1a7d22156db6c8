"""The one place for entity name rules: queues (SQS) and streams (Kafka topics).

Rules, as the real systems document them:

- Queue (SQS `CreateQueue`): 1-80 characters of `[A-Za-z0-9_-]`; a FIFO queue's name
  ends with `.fifo`, and the suffix counts towards the 80. A `.fifo` name is a FIFO
  queue, and a FIFO queue must have one.
- Stream (Kafka `Topic.validate`): 1-249 characters of `[a-zA-Z0-9._-]`, and neither
  `.` nor `..`. Kinesis names (1-128 of `[a-zA-Z0-9_.-]`) are a subset.

- Names qualified by an AWS namespace (`<account>:<name>@<region>`, the AWS front-ends'
  scheme in protocols/aws/namespace.py: a 12-digit account prefix and/or a region
  suffix) are checked by their body; streams only when the caller asks (`qualified`:
  core does, Kafka's own checks do not, as Kafka topic names have no `:` or `@`).

Each validator raises `InvalidName` whose `rule` names the rule broken, and returns
the name unchanged when it is valid. Pure functions: no state, safe from any thread.
"""

from __future__ import annotations

import re

from mqlite.core.errors import InvalidName

QUEUE_NAME_MAX = 80
STREAM_NAME_MAX = 249
FIFO_SUFFIX = ".fifo"

_QUEUE_BODY = re.compile(r"[A-Za-z0-9_-]+")
_STREAM_NAME = re.compile(r"[a-zA-Z0-9._-]+")

QUEUE_NAME_RULE = "queue-name: 1-80 characters of [A-Za-z0-9_-], '.fifo' suffix for FIFO queues"
STREAM_NAME_RULE = "stream-name: 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'"


_NAMESPACE = re.compile(r"^((?:[0-9]{12}:)?)(.+?)((?:@[a-z0-9-]+)?)$", re.DOTALL)


def namespace_parts(name: str) -> tuple[str, str, str]:
    """(account prefix, body, region suffix) of a name qualified by an AWS namespace."""
    if ":" not in name and "@" not in name:
        return "", name, ""
    found = _NAMESPACE.match(name)
    return (found.group(1), found.group(2), found.group(3)) if found else ("", name, "")


def namespace_body(name: str) -> str:
    """The name without an AWS namespace's account prefix and region suffix."""
    return namespace_parts(name)[1]


def is_fifo_name(name: str) -> bool:
    """True when the name carries the FIFO suffix (before any region suffix)."""
    return namespace_body(name).endswith(FIFO_SUFFIX)


def validate_queue_name(name: str, fifo: bool | None = None) -> str:
    """Check an SQS-style queue name; `fifo` (when known) must agree with the suffix."""
    if not isinstance(name, str) or not 1 <= len(namespace_body(name)) <= QUEUE_NAME_MAX:
        raise InvalidName(
            f"queue name must be 1-{QUEUE_NAME_MAX} characters long: {name!r}",
            rule=QUEUE_NAME_RULE,
        )
    name_body = namespace_body(name)  # an AWS namespace's qualifiers do not count
    suffixed = name_body.endswith(FIFO_SUFFIX)
    body = name_body[: -len(FIFO_SUFFIX)] if suffixed else name_body
    if not _QUEUE_BODY.fullmatch(body):
        raise InvalidName(
            f"queue name may contain only alphanumeric characters, hyphens and "
            f"underscores (plus a '.fifo' suffix): {name!r}",
            rule=QUEUE_NAME_RULE,
        )
    if fifo is not None and fifo != suffixed:
        raise InvalidName(
            "the name of a FIFO queue must end with the .fifo suffix"
            if fifo
            else f"only a FIFO queue may end with '.fifo': {name!r}",
            rule=QUEUE_NAME_RULE,
        )
    return name


def validate_stream_name(name: str, qualified: bool = False) -> str:
    """Check a stream (Kafka topic) name; `qualified`: an AWS namespace is allowed."""
    if qualified and isinstance(name, str) and name != namespace_body(name):
        validate_stream_name(namespace_body(name))
        return name
    if not isinstance(name, str) or not name:
        raise InvalidName("stream name is illegal, it can't be empty", rule=STREAM_NAME_RULE)
    if name in (".", ".."):
        raise InvalidName("stream name cannot be \".\" or \"..\"", rule=STREAM_NAME_RULE)
    if len(name) > STREAM_NAME_MAX:
        raise InvalidName(
            f"stream name is illegal, it can't be longer than {STREAM_NAME_MAX} characters, "
            f"name: {name[:40]}...",
            rule=STREAM_NAME_RULE,
        )
    if not _STREAM_NAME.fullmatch(name):
        raise InvalidName(
            f"stream name {name!r} is illegal, it contains a character other than "
            "ASCII alphanumerics, '.', '_' and '-'",
            rule=STREAM_NAME_RULE,
        )
    return name


def is_dot_name(name: str) -> bool:
    """`.` and `..`: names no entity may take, whatever its protocol's character set
    allows (they are path segments wherever a name becomes part of a path or URL)."""
    return name in (".", "..")


def is_valid_stream_name(name: str) -> bool:
    try:
        validate_stream_name(name)
    except InvalidName:
        return False
    return True


# -- internal streams -----------------------------------------------------------------------
# Streams that front-ends create for their own bookkeeping (Firehose buffers, EventBridge
# archives) are core streams like any other, but no client protocol may see, write or
# delete them as its own: Kafka marks them IsInternal and refuses DeleteTopics/CreateTopics
# and Produce, Redis leaves them out of its key space, Kinesis hides them. ONE rule says
# which streams are internal: the `__mqlite.` prefix. Their creators name them with
# `internal_stream_name`. `LEGACY_INTERNAL_PREFIXES` are the names used before this rule
# (data dirs written before 2026-11-27 15:00 UTC); they still count as internal so such a
# data dir keeps its buffers and archives hidden and working (their owners keep reading
# the old name when it is the one that exists).
INTERNAL_STREAM_PREFIX = "__mqlite."
LEGACY_INTERNAL_PREFIXES = ("__firehose.", "aws.events.archive.")


def internal_stream_name(*parts: str) -> str:
    """`__mqlite.<part>.<part>...`: the name of a front-end's internal stream."""
    return INTERNAL_STREAM_PREFIX + ".".join(parts)


def is_internal_stream(name: str) -> bool:
    """True for a stream no client protocol may list, write or delete as its own (in
    any AWS namespace: `<account>:__mqlite.<...>@<region>` too)."""
    name = namespace_body(name)
    return name.startswith(INTERNAL_STREAM_PREFIX) or name.startswith(LEGACY_INTERNAL_PREFIXES)
