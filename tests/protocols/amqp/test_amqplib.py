"""amqplib (npm, the Node.js AMQP 0-9-1 client; pinned in node/package.json) against
mqlite: topology with exchange-to-exchange bindings, publisher confirms and mandatory
returns, consumer cancel notifications, dead-lettering with x-death, direct reply-to.

`node/amqplib_checks.js` drives the client and prints what it saw as JSON (RabbitMQ 3.10
gives the same JSON); installed by scripts/install-test-deps.sh (`npm ci`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "amqplib").is_dir(),
    reason="node or amqplib is not installed (scripts/install-test-deps.sh)",
)


def test_amqplib_topology_confirms_cancel_dead_letter_and_direct_reply_to(mqlite_server: Any) -> None:
    proc = subprocess.run(["node", "amqplib_checks.js", str(mqlite_server.amqp_port)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["topology"] == {"body": "e2e", "routingKey": "logs.app.error", "exchange": "js.topic",
                                "remaining": 0, "missingExchangeCode": 404}
    assert seen["confirms"] == {"acked": [True] * 5, "returned": [312], "count": 5}  # 312 NO_ROUTE
    assert seen["cancel"] == {"cancelled": True}  # Basic.Cancel from the server: callback(null)
    assert seen["deadLetter"] == {"first": "bad job", "body": "bad job", "attempt": 1, "reason": "rejected",
                                  "queue": "js.work", "count": 1, "firstReason": "rejected"}
    assert seen["directReplyTo"] == {"body": "echo:ping", "correlationId": "c-1", "replyToPrefix": True}
