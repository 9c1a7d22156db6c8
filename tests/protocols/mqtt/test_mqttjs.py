"""MQTT.js (npm `mqtt`, pinned in node/package.json) against mqlite: 5.0 QoS 0/1/2 with user
properties and subscription identifiers, retained messages, 3.1.1, wills.

`node/mqttjs_checks.js` drives the client and prints what it saw as JSON; mosquitto 2.0
gives the same JSON (scripts/conformance-mqtt.sh). Installed by
scripts/install-test-deps.sh (`npm ci`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "mqtt").is_dir(),
    reason="node or MQTT.js is not installed (scripts/install-test-deps.sh)",
)

EXPECTED = {
    "v5": {"granted": [2], "messages": [
        {"topic": "js/a/t", "payload": f"m{q}", "qos": q, "user": {"k": "v"}, "contentType": "text/plain", "subId": 5}
        for q in (0, 1, 2)]},
    "retained": {"payload": "kept", "retain": True},
    "v311": {"topic": "js/v4/x", "payload": "hello", "qos": 1},
    "will": {"payload": "lost"},
}


def test_mqttjs_qos_properties_retained_v311_and_will(mqtt_server: Any) -> None:
    proc = subprocess.run(["node", "mqttjs_checks.js", str(mqtt_server.mqtt_port)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED
