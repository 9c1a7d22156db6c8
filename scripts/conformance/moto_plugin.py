"""pytest plugin for the moto conformance run: a fresh mqlite server before every test.

Loaded with `-p moto_plugin` into a pytest run of moto's own test suite (server mode) when
MQLITE_CONFORMANCE_PORT is set. moto's `mock_aws` fixes its endpoint when a module is
imported, so the server comes back on the same port each time: a real server on a real
socket, started in this process (imports already done, so a restart costs milliseconds)
with nothing carried over between tests. Also prints one progress line per test.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

_PORT = os.environ.get("MQLITE_CONFORMANCE_PORT")
_LABEL = os.environ.get("CONFORMANCE_LABEL", "run")
_state: dict = {"server": None, "done": 0, "passed": 0, "failed": 0, "skipped": 0,
                "total": 0, "start": time.monotonic()}


def _fresh_server() -> None:
    from mqlite.testing import ServerHandle, test_settings

    if _state["server"] is not None:
        _state["server"].stop()
    settings = test_settings(
        None, memory=True, http_port=int(_PORT), kafka_port=None, amqp_port=None,
        redis_port=None, aws_account="123456789012", host="127.0.0.1",
        # moto's tests expect URLs of a server at localhost:5000 (moto's server-mode
        # endpoint); the server runs on a port of the caller's range and says so, as one
        # behind a port mapping does
        aws_advertised_host="localhost:5000",
    )
    _state["server"] = ServerHandle(settings)


def pytest_collection_finish(session: pytest.Session) -> None:
    _state["total"] = len(session.items)  # after --deselect


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _PORT:
        _fresh_server()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "setup" and report.skipped:
        outcome = "skipped"
    elif report.when == "call":
        outcome = {"passed": "passed", "failed": "failed", "skipped": "skipped"}[report.outcome]
    elif report.failed:  # a setup or teardown error
        outcome = "failed"
    else:
        return
    _state["done"] += 1
    _state[outcome] += 1
    elapsed = time.monotonic() - _state["start"]
    sys.stderr.write(
        f"[{_LABEL}] {_state['done']}/{_state['total']} passed={_state['passed']} "
        f"failed={_state['failed']} skipped={_state['skipped']} ({elapsed:.0f}s) "
        f"{outcome.upper()} {report.nodeid}\n"
    )
    sys.stderr.flush()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _state["server"] is not None:
        _state["server"].stop()
