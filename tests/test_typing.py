"""The typed seam: mypy passes on the package, and front-ends hold core objects typed.

Rule (DESIGN.md convention 9, docs/architecture.md "The typed seam"): types on every
public function, mypy clean with `warn_return_any` (pyproject's `[tool.mypy]`), and no
`Any` where a front-end holds what core gives it (`core`, streams, queues, routers,
groups, the catalog): front-ends annotate them with `mqlite.core.api`'s classes, so
mypy checks every front-end-to-core call against core's signatures.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "src" / "mqlite" / "protocols"

# names under which front-ends hold core objects; none may be annotated with Any
CORE_NAMES = frozenset({
    "core", "_core", "stream", "streams", "queue", "router", "routers", "group", "groups",
    "catalog", "_catalog", "channels", "sel", "counts",
})
# a function named after one of these nouns returns that core object: not as Any
CORE_NOUNS = frozenset({"core", "stream", "queue", "router", "group", "catalog"})


def test_mypy_passes_on_the_package_with_warn_return_any() -> None:
    """mypy, pinned in the `test` extra, with the project's config: no error at all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / ".mypy_cache"), str(ROOT / "src" / "mqlite")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_the_project_config_asks_for_warn_return_any() -> None:
    """The check above is only as strict as the config it reads."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["warn_return_any"] is True


def _names_core_object(function: str) -> bool:
    """`queue`, `find_queue`, `stream_for`, `create_router`...: a getter of a core object."""
    return bool(CORE_NOUNS.intersection(function.strip("_").split("_")))


def _mentions_any(node: ast.expr | None) -> bool:
    """The annotation is `Any`, or a union with `Any` in it (`Any | None`, `Optional[Any]`);
    `dict[str, Any]` is a container of values, not a core object typed Any."""
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(node, ast.Name):
        return node.id == "Any"
    if isinstance(node, ast.Attribute):
        return node.attr == "Any"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _mentions_any(node.left) or _mentions_any(node.right)
    if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) in ("Optional", "Union"):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return any(_mentions_any(item) for item in items)
    return False


def _any_core_annotations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg in CORE_NAMES and _mentions_any(arg.annotation):
                    found.append(f"{node.lineno}: parameter {arg.arg!r} of {node.name}")
            if _names_core_object(node.name) and _mentions_any(node.returns):
                found.append(f"{node.lineno}: {node.name}() returns Any")
        elif isinstance(node, ast.AnnAssign):
            target = node.target
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name in CORE_NAMES and _mentions_any(node.annotation):
                found.append(f"{node.lineno}: {name}")
    return found


def test_front_ends_hold_core_objects_with_core_types_not_any() -> None:
    """`core: Any`, `stream: Any`... are gone from the front-ends: mypy sees each call."""
    bad = [
        f"{path.relative_to(PROTOCOLS.parent)}:{where}"
        for path in sorted(PROTOCOLS.rglob("*.py"))
        for where in _any_core_annotations(path)
    ]
    assert not bad, "core objects annotated Any in front-ends:\n" + "\n".join(bad)


def test_the_any_check_sees_parameters_attributes_and_string_annotations(tmp_path: Path) -> None:
    """The check itself: each spelling of an Any-typed core object is found."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import Any\n"
        "def f(core: Any, stream: 'Any | None', name: Any) -> None:\n"
        "    self.queue: Any = None\n"
        "class C:\n    @property\n    def core(self) -> Any: ...\n"
        "    def find_queue(self, name: str) -> 'Any | None': ...\n"
        "    def as_dict(self, queue: dict[str, Any]) -> dict[str, Any]: ...\n"
    )
    found = _any_core_annotations(probe)
    assert len(found) == 5, found
