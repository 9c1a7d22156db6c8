"""The built wheel, installed into a fresh venv outside the checkout, serves every
front-end to a real client (issue 15: "an installed mqlite works anywhere").

Runs `scripts/check-installed.sh` (about 25 s with pip's cache warm, longer on a cold
one: it builds the wheel and pip-installs it with its dependencies and the client
libraries). It is in the default run, so `.ci/run` fails when the wheel is broken;
deselect it locally with `-m "not installed"`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.installed
@pytest.mark.timeout(900)
def test_installed_wheel_serves_every_front_end_to_real_clients() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MQLITE_"))}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check-installed.sh")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=880, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    for front_end in ("health", "sqs (boto3)", "kafka (confluent-kafka)", "amqp (pika)", "redis (redis-py)"):
        assert f"drive-installed: {front_end} ok" in result.stdout, output[-8000:]
