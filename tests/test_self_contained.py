"""The package reads nothing outside itself: no path to a checkout's `shared/` or `/work`,
and every Kafka API the broker answers has its message schemas shipped as package data.

The end-to-end proof (a wheel installed into a fresh venv, driven by real clients from a
directory where no checkout is reachable) is `scripts/check-installed.sh`, run by
`tests/test_installed_package.py`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from mqlite.protocols.kafka import schema
from mqlite.protocols.kafka.handlers import HANDLERS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mqlite"

# A path out of the package: the spec checkout beside the repo, or the dev machine's /work.
OUTSIDE = re.compile(r"\.\./shared|shared/specs|/work/|MQLITE_KAFKA_SPECS")


def test_no_source_file_names_a_path_outside_the_package() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_schemas_are_loaded_from_inside_the_package() -> None:
    where = schema.spec_dir()
    assert Path(str(where)).resolve().is_relative_to(SRC.resolve())
    assert (where / "NOTICE").read_text(encoding="utf-8").count("Apache License, Version 2.0") == 1


def test_every_handled_api_has_its_request_and_response_schema_shipped() -> None:
    shipped = {p.name for p in schema.spec_dir().iterdir()}
    names = schema.api_names()
    for api_key in HANDLERS:
        assert api_key in names, f"api key {api_key} has no schema"
        assert {f"{names[api_key]}Request.json", f"{names[api_key]}Response.json"} <= shipped


def test_pyproject_ships_the_schemas_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["mqlite.protocols.kafka"]
    assert "schemas/*.json" in data and "schemas/NOTICE" in data
