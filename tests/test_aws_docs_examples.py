"""The examples in docs/sns.md, docs/firehose.md, docs/eventbridge.md (and the AWS CLI
lines of docs/aws.md) run as written against a real `mqlite serve`, and print what
their comments say.

Each ```python block runs as a script with the environment the docs tell users to set
(`AWS_ENDPOINT_URL`, dummy credentials and region; `KAFKA_BOOTSTRAP`), from the
directory holding the server's `mqlite-data`; a `print(...)  # text` line must print
exactly `text`. Each `aws ...` line of a ```sh block runs with the documented
`--endpoint-url` pointed at the server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqlite.testing import ServerProcess, spawn_server

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("sns.md", "firehose.md", "eventbridge.md")
CLI_DOCS = (*DOCS, "aws.md")
EXPECT = re.compile(r"^\s*print\(.*\)\s+#\s*(.+?)\s*$", re.MULTILINE)


def _blocks(lang: str, docs: tuple[str, ...] = DOCS) -> list[tuple[str, int, str]]:
    found = []
    for doc in docs:
        text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(rf"```{lang}\n(.*?)```", text, flags=re.DOTALL)):
            found.append((doc, i, block))
    return found


PYTHON = _blocks("python")
SHELL = [(doc, i, line) for doc, i, block in _blocks("sh", CLI_DOCS) for line in block.splitlines() if line.startswith("aws ")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path, dict[str, str]]]:
    where = tmp_path_factory.mktemp("docs-examples")
    server = spawn_server(where / "mqlite-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MQLITE_"))}
    env.update(
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
        KAFKA_BOOTSTRAP=f"127.0.0.1:{server.ports['kafka']}",
    )
    try:
        yield server, where, env
    finally:
        server.stop()


def test_each_doc_has_runnable_examples() -> None:
    for doc in DOCS:
        assert any(d == doc for d, _, _ in PYTHON), f"{doc} has no python example"
    for doc in CLI_DOCS:
        assert any(d == doc for d, _, _ in SHELL), f"{doc} has no aws CLI example"


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("doc", "index", "code"), PYTHON, ids=[f"{d}-{i}" for d, i, _ in PYTHON])
def test_python_example_runs_and_prints_what_it_says(
    served: tuple[ServerProcess, Path, dict[str, str]], doc: str, index: int, code: str
) -> None:
    server, where, env = served
    env = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.ports['http']}"}
    script = where / f"{doc}-{index}.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=where, env=env, capture_output=True,
                            text=True, timeout=150, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = EXPECT.findall(code)
    assert expected, "an example says what it prints"
    for text in expected:
        assert text in lines, f"{text!r} not printed; got {lines}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("doc", "index", "line"), SHELL, ids=[f"{d}-{i}-{n}" for n, (d, i, _) in enumerate(SHELL)])
def test_aws_cli_example_runs(served: tuple[ServerProcess, Path, dict[str, str]], doc: str, index: int, line: str) -> None:
    server, where, env = served
    assert "--endpoint-url http://localhost:4566" in line
    command = line.replace("http://localhost:4566", f"http://127.0.0.1:{server.ports['http']}")
    result = subprocess.run(["bash", "-c", command], cwd=where, env=env, capture_output=True,
                            text=True, timeout=100, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the CLI printed its answer"
