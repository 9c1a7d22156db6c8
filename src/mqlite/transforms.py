"""The product's own binding transforms, which every broker it opens must know.

Bindings name their transform; the code lives in a front-end. The server and the
embedded brokers (`mqlite.Broker`, `mqlite.AsyncBroker`) pass this table to the core,
so a topic made over SNS routes the same whichever of them opens the data directory.
"""

from __future__ import annotations

STANDARD: tuple[tuple[str, str], ...] = (
    ("sns", "mqlite.protocols.aws.sns.envelope:sns_transform"),
    ("amqp.dead_letter", "mqlite.protocols.amqp.dead_letter:dead_letter_transform"),
)
