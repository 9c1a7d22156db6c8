"""The `mqlite` command line: version, option errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mqlite
from mqlite.cli import main


def test_version_prints_the_package_version(capsys) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"mqlite {mqlite.__version__}"


def test_serve_help_lists_every_setting(capsys) -> None:
    from mqlite.config import options

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in options():
        assert option.flag in out and option.env in out


def test_bad_option_value_exits_2_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mqlite.cli", "serve", "--memory", "--http-port", "notaport"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "http_port" in result.stderr or "http-port" in result.stderr
