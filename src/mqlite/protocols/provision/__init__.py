"""Provisioning: declare a topology at start (`mqlite serve --init FILE`, config key
`init`), import one at run time (`POST /_mqlite/api/topology`, `mqlite import`), and
export the current one in the same format (`mqlite export`). See `model.py` for the
format, `apply.py` for the all-or-nothing rule, `loader.py` for RabbitMQ definitions.
"""

from __future__ import annotations

import logging

from mqlite.core.api import BrokerCore
from mqlite.protocols.provision.loader import ProvisionError, load
from mqlite.settings import Settings

log = logging.getLogger("mqlite.provision")

__all__ = ["ProvisionError", "apply_init"]


async def apply_init(core: BrokerCore, settings: Settings) -> None:
    """Apply `settings.init` (if set) before the server reports ready; a ProvisionError
    stops the start-up with one line naming the file, the entity and the field."""
    path = getattr(settings, "init", None)
    if path is None:
        return
    from mqlite.protocols.provision.apply import apply

    counts = await apply(core, settings, load(path), str(path))
    log.info("init %s applied: %s", path, ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "empty")
