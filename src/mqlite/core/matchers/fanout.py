"""Fanout matching (AMQP fanout exchanges, SNS topics without a filter policy).

Every message matches every binding; the binding key and arguments are ignored, as
RabbitMQ's fanout exchange ignores them. Concurrency: pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _always(_message: Any) -> bool:
    return True


def compile_fanout(_spec: Any = None) -> Callable[[Any], bool]:
    """A predicate that accepts everything."""
    return _always
