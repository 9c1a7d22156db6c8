"""A second SDK family: the AWS SDK for JavaScript v3 drives SQS and SNS scenarios (the
same ones the boto3 tests cover) against a real mqlite server.

The SDK speaks SQS's JSON protocol, maps errors by their JSON `__type`, and checks the
MD5s of bodies and attributes itself. Each scenario runs `node js/scenarios.mjs ENDPOINT
NAME` on a fresh server; the assertions are in the script and a failure prints them.
Installed (pinned, package-lock.json) by scripts/install-test-deps.sh.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "js"
NODE = shutil.which("node")
SCENARIOS = (
    "sqs_queue_lifecycle", "sqs_messages_attributes_and_md5", "sqs_batches", "sqs_fifo",
    "sqs_dead_letter_queue", "sns_topics", "sns_fanout_to_sqs", "sns_fifo_topic",
    "sns_platform_endpoints",
)

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    assert (HERE / "node_modules" / "@aws-sdk" / "client-sqs").is_dir(), (
        "the JavaScript SDK is not installed: run scripts/install-test-deps.sh")
    return subprocess.run([NODE or "node", "scenarios.mjs", *args], cwd=HERE, capture_output=True,
                          text=True, timeout=90)


def test_every_scenario_is_run_here() -> None:
    listed = _run("-", "--list")
    assert listed.returncode == 0, listed.stderr
    assert tuple(listed.stdout.split()) == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_sdk_scenario(mqlite_server: Any, scenario: str) -> None:
    done = _run(mqlite_server.endpoint_url, scenario)
    assert done.returncode == 0, f"{scenario} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip() == f"ok {scenario}"
