"""Per-broker message transforms: the names a binding's `transform` arg may use.

A transform rewrites (or drops) an envelope on its way through one binding: SNS's
notification envelope, AMQP's dead-letter headers. Bindings store only the name, so a
broker opened later (another process, `mqlite.Broker(path)`) must know every name its
data uses, whoever created it. Each broker therefore gets its transforms explicitly
from whoever opens it, as `name -> "module:function"` specs (resolved on first use, so
the code of a protocol nobody routes through is never imported) or as functions.
`mqlite.transforms.STANDARD` lists the product's own; both the server and the
embedded brokers pass it.

Concurrency: the broker's event loop; resolution is an import, done once per name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

Transform = Callable[[Any, Any], Any]  # (Envelope, Binding) -> Envelope | None


class TransformRegistry:
    """See module docstring."""

    def __init__(self, specs: Iterable[tuple[str, str]] = ()) -> None:
        self._specs = dict(specs)
        self._resolved: dict[str, Transform] = {}

    def register(self, name: str, fn: Transform) -> None:
        """Make `fn` the transform called `name` on this broker."""
        self._resolved[name] = fn

    def get(self, name: str) -> Transform | None:
        """The transform called `name`, importing it on first use; None if unknown."""
        fn = self._resolved.get(name)
        if fn is None:
            spec = self._specs.get(name)
            if spec is None:
                return None
            module, _, attr = spec.partition(":")
            fn = self._resolved[name] = getattr(importlib.import_module(module), attr)
        return fn

    def names(self) -> set[str]:
        return set(self._specs) | set(self._resolved)
