"""Layering: imports point protocols -> core -> storage, and anyone may use mqlite.errors.

Rule (DESIGN.md convention 1, docs/architecture.md): storage never imports core or
protocols; core never imports protocols (nor the server/CLI/embedded entry points);
protocols do not import the entry points either. Every import statement counts, also
those inside functions, so lazy imports cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mqlite"

# layer -> module prefixes it may import from inside mqlite
ALLOWED: dict[str, tuple[str, ...]] = {
    "storage": ("mqlite.storage", "mqlite.errors"),
    "core": ("mqlite.core", "mqlite.storage", "mqlite.errors"),
    "protocols": ("mqlite.protocols", "mqlite.core", "mqlite.storage", "mqlite.errors", "mqlite.settings",
                  "mqlite.security"),
    "security": ("mqlite.security", "mqlite.errors", "mqlite.settings"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from mqlite import core` imports the subpackage mqlite.core
            if target == "mqlite":
                found.extend((node.lineno, f"mqlite.{a.name}") for a in node.names)
    return [(line, name) for line, name in found if name == "mqlite" or name.startswith("mqlite.")]


def _files(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    if name == "mqlite":
        return False
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_only_downwards(layer: str) -> None:
    """Rule: protocols -> core -> storage; every layer may import mqlite.errors."""
    files = _files(layer)
    assert files, f"no modules found in {layer}"
    bad = [
        f"{path.relative_to(SRC)}:{line} imports {name}"
        for path in files
        for line, name in _imports(path)
        if not _allowed(name, ALLOWED[layer]) and name != "mqlite"
    ]
    bad += [
        f"{path.relative_to(SRC)}:{line} imports the package root"
        for path in files
        for line, name in _imports(path)
        if name == "mqlite" and layer == "storage"
    ]
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_errors_module_imports_nothing_from_mqlite() -> None:
    """Rule: mqlite.errors imports nothing, so every layer may import it."""
    assert _imports(SRC / "errors.py") == []


def test_the_import_walker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The check itself: lazy (in-function) and relative imports are found and resolved."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\n"
        "def f():\n    from mqlite.protocols import kafka\n    from ..protocols import aws\n"
        "from . import stream\n"
    )
    names = [name for _, name in _imports(probe, "mqlite.core.probe")]
    assert sorted(names) == ["mqlite.core", "mqlite.protocols", "mqlite.protocols"]
    assert not _allowed("mqlite.protocols", ALLOWED["core"])
    assert _allowed("mqlite.errors", ALLOWED["storage"])


# What a front-end must not reach through core: a stream's partitions and their `Log`s,
# the `LogFactory` (`core.logs`) and its group committer. Front-ends ask a `Stream`
# (`producer_state`, `partition_info`, `earliest`, `latest`...) or `BrokerCore`
# (`commit_histograms`) instead (docs/architecture.md, "The typed seam").
STORAGE_REACH_ATTRS = frozenset({"_partitions", "logs", "committer", "_log"})
STORAGE_MODULES = ("mqlite.core.partition", "mqlite.core.logs", "mqlite.storage.log",
                   "mqlite.storage.filelog", "mqlite.storage.memlog", "mqlite.storage.segment",
                   "mqlite.storage.commit")


def _storage_reaches(path: Path, module: str | None = None) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if node.attr in STORAGE_REACH_ATTRS:
            found.append(f"{node.lineno}: .{node.attr}")
        # `x.log.<anything>`: a partition's log used (a logger is `log.info(...)`, no chain)
        elif isinstance(node.value, ast.Attribute) and node.value.attr == "log":
            found.append(f"{node.lineno}: .log.{node.attr}")
        # `stream.partitions[i]`: a core partition object (an int count is never subscripted)
        elif node.attr == "partitions" and any(
            isinstance(parent, ast.Subscript) and parent.value is node for parent in ast.walk(tree)
        ):
            found.append(f"{node.lineno}: .partitions[...]")
    found += [f"{line}: imports {name}" for line, name in _imports(path, module)
              if any(name == m or name.startswith(m + ".") for m in STORAGE_MODULES)]
    return found


def test_front_ends_do_not_reach_through_core_into_storage() -> None:
    """Rule: protocols talk to core's objects, never to the logs behind them."""
    bad = [
        f"{path.relative_to(SRC)}:{where}"
        for path in _files("protocols")
        for where in _storage_reaches(path)
    ]
    assert not bad, "front-ends reaching through core into storage:\n" + "\n".join(bad)


def test_the_storage_reach_check_sees_partitions_logs_and_imports(tmp_path: Path) -> None:
    """The check itself: the produce handler's old reach (`stream.partitions[i].log`
    then `.producer_state`) and its variants are found; a logger call is not."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from mqlite.core.partition import Partition\n"
        "def f(stream, core, log):\n"
        "    part = stream.partitions[0]\n"
        "    part.log.producer_state(1)\n"
        "    core.logs.committer\n"
        "    log.info('fine')\n"
        "    return stream.partition_count\n"
    )
    found = _storage_reaches(probe, "mqlite.protocols.probe")
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted([
        ".partitions[...]", ".log.producer_state", ".committer", ".logs", "imports mqlite.core.partition",
    ]), found


AWS_SERVICES = ("sqs", "sns", "kinesis", "firehose", "events")


def test_aws_services_reach_each_other_only_through_the_targets_interface() -> None:
    """Rule (docs/architecture.md, durable facts): EventBridge, SNS, Kinesis, Firehose
    and SQS do not import each other's modules (handlers, stored rows); one delivers
    into another through `protocols/aws/targets.py`."""
    bad = []
    for service in AWS_SERVICES:
        for path in sorted((SRC / "protocols" / "aws" / service).rglob("*.py")):
            for line, name in _imports(path):
                other = name.split(".")[3] if name.startswith("mqlite.protocols.aws.") and name.count(".") >= 3 else ""
                if other in AWS_SERVICES and other != service:
                    bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    assert not bad, "AWS services importing each other:\n" + "\n".join(bad)


# What core's consumer group may hold: its durable facts (offsets; generation, protocol
# type and protocol, as Kafka's __consumer_offsets keeps them). Live membership belongs
# to the protocol that runs it (kafka/handlers/membership.py), read through `Membership`.
GROUP_FIELDS = {"_store", "name", "_persisted", "generation", "protocol_type", "protocol", "_offsets"}
MEMBERSHIP_WORDS = ("member", "leader", "state", "extra", "assign", "join", "sync", "heartbeat", "epoch")


def _self_attributes(cls: ast.ClassDef) -> set[str]:
    return {
        t.attr for node in ast.walk(cls) if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
    }


def test_core_consumer_groups_hold_no_protocol_membership_state() -> None:
    """Rule (issue #24 item 3): core's `ConsumerGroup` keeps offsets and durable group
    metadata only; members, leader, state, assignments and untyped `extra` dicts live in
    the Kafka coordinator's `KafkaGroup`, and views read them through `Membership`."""
    tree = ast.parse((SRC / "core" / "groups.py").read_text(encoding="utf-8"))
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    attrs = _self_attributes(classes["ConsumerGroup"])
    assert attrs == GROUP_FIELDS, f"ConsumerGroup fields changed: {sorted(attrs ^ GROUP_FIELDS)}"
    methods = {f.name for f in classes["ConsumerGroup"].body if isinstance(f, ast.FunctionDef)}
    leaked = sorted(n for n in methods | set(classes) if any(w in n.lower() for w in MEMBERSHIP_WORDS)
                    and n not in {"Membership", "MemberSummary", "NoMembership"})
    assert leaked == [], f"protocol membership in core/groups.py: {leaked}"
    from mqlite.core.groups import Membership

    assert {n for n in vars(Membership) if not n.startswith("_")} == {"has_members", "members", "state", "forget"}
