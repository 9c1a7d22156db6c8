"""The Dockerfile stays trivially correct, checked without a Docker engine (none here):
an official Python base, the default ports exposed, the data directory a volume, a CMD
that really starts the broker, and a HEALTHCHECK command that passes against a running
server and fails without one. docs/docker.md says the image itself is untested.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from mqlite.settings import Settings
from mqlite.testing import spawn_server

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _one(name: str) -> str:
    found = [args for word, args in _instructions() if word == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def _exec_form(args: str) -> list[str]:
    argv = json.loads(args)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    return argv


def test_base_is_the_official_python_slim_image() -> None:
    assert _instructions()[0] == ("FROM", "python:3.11-slim")


def test_every_default_port_is_exposed_and_the_data_dir_is_a_volume() -> None:
    defaults = Settings()
    ports = {defaults.http_port, defaults.kafka_port, defaults.amqp_port, defaults.redis_port, defaults.stomp_port}
    assert {int(p) for p in _one("EXPOSE").split()} == ports
    assert _one("VOLUME") == "/data"


def test_copied_files_exist_and_are_not_docker_ignored() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for word, args in _instructions():
        if word == "COPY":
            *sources, _dest = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source not in ignored, source
    assert "pip install" in " ".join(args for word, args in _instructions() if word == "RUN")


def test_cmd_starts_the_broker_and_the_healthcheck_passes_against_it(tmp_path: Path) -> None:
    cmd = _exec_form(_one("CMD"))
    assert cmd[:2] == ["mqlite", "serve"]
    flags = cmd[2:]
    assert flags[-1] == "--insecure"  # an open dev broker, which a non-loopback host must say
    flags = flags[:-1]
    options = dict(zip(flags[::2], flags[1::2], strict=True))
    assert options.pop("--host") == "0.0.0.0"  # reachable through published ports
    assert options.pop("--data-dir") == _one("VOLUME")
    health = _one("HEALTHCHECK")
    check = _exec_form(health[health.index("CMD") + 3 :].strip())
    assert check[0] == "python" and "http://127.0.0.1:4566/_mqlite/health" in check[-1]

    # The same command on this machine: loopback and free ports, data under tmp_path.
    server = spawn_server(tmp_path / "data", *(x for kv in options.items() for x in kv))
    try:
        probe = [sys.executable, *check[1:-1], check[-1].replace(":4566/", f":{server.ports['http']}/")]
        assert subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    finally:
        assert server.stop() == 0
    # Nothing listening: the health check must fail, or it checks nothing.
    assert subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode != 0
