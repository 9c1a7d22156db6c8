"""Direct matching (AMQP direct exchanges, SNS/EventBridge-less exact keys).

A binding key matches a routing key when the two strings are equal (byte for byte,
case-sensitive; the empty key is a valid key). Routers index direct bindings in a dict,
so this predicate is for single checks and for the reference tests.
Concurrency: pure.
"""

from __future__ import annotations

from collections.abc import Callable


def compile_direct(binding_key: str) -> Callable[[str], bool]:
    """The predicate `routing_key == binding_key`."""
    if not isinstance(binding_key, str):
        raise TypeError("a direct binding key is a str")
    return binding_key.__eq__  # type: ignore[return-value]


def direct_matches(binding_key: str, routing_key: str) -> bool:
    return binding_key == routing_key
