"""ioredis and node-redis (npm, pinned in node/package.json) against mqlite: pub/sub with
channels and patterns, streams with XADD/XRANGE/XREAD BLOCK and consumer groups.

`node/clients.js` drives both clients and prints what they saw as JSON; installed by
scripts/install-test-deps.sh (`npm ci` in tests/protocols/resp/node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "ioredis").is_dir(),
    reason="node or the npm packages are not installed (scripts/install-test-deps.sh)",
)


def test_ioredis_and_node_redis_pubsub_and_streams(resp_server: Any) -> None:
    proc = subprocess.run(["node", "clients.js", str(resp_server.redis_port)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    io = seen["ioredis"]
    assert io["receivers"] == 2  # one channel subscriber and one pattern subscriber
    assert io["pubsub"] == [["message", "io:news", "hello"], ["pmessage", "io:*", "io:news", "hello"]]
    assert io["range"] == [[True, ["f", "v1"]], [True, ["f", "v2"]]]
    assert io["group"] == [["f", "v1"], ["f", "v2"]] and io["acked"] == 2
    assert io["blocked"] == [["f", "v3"]]  # XREAD BLOCK woken by a later XADD
    nr = seen["nodeRedis"]
    assert nr["receivers"] == 2
    assert nr["pubsub"] == [["message", "nr:news", "hello"], ["pmessage", "nr:news", "hello"]]
    assert nr["len"] == 2 and nr["range"] == [{"f": "v1"}, {"f": "v2"}]
    assert nr["group"] == [{"f": "v1"}, {"f": "v2"}] and nr["acked"] == 2 and nr["pending"] == 0
    assert nr["info"] == {"length": 2, "groups": 1}
