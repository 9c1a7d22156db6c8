"""@stomp/stompjs (npm; pinned with @stomp/tcp-wrapper in node/package.json, which lets
the WebSocket-shaped client speak STOMP over raw TCP) against mqlite: client-individual
ACK/NACK, a transaction, a wildcard topic with a SEND receipt, a binary body with NULs,
heart-beats both ways. `node/stompjs_checks.mjs` prints what the client saw as JSON;
RabbitMQ 3.10's STOMP plugin gives the same JSON (scripts/conformance-stomp.sh).
Installed by scripts/install-test-deps.sh (`npm ci`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@stomp" / "stompjs").is_dir(),
    reason="node or @stomp/stompjs is not installed (scripts/install-test-deps.sh)",
)


def test_stompjs_over_tcp_acks_nacks_transactions_topics_and_binary_bodies(mqlite_server: Any) -> None:
    proc = subprocess.run(["node", "stompjs_checks.mjs", str(mqlite_server.stomp_port), "t1"], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "version": "1.2", "heartBeat": "1000,1000",
        "queue": {"bodies": ["one", "two", "two"], "redelivered": "true", "contentType": "text/plain", "app": "js"},
        "tx": "in tx", "topic": {"body": "fan", "destination": "/topic/js-RUN.a"}, "binary": [1, 0, 2, 0, 3],
    }
