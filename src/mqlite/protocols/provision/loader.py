"""Read a topology file (TOML or JSON, or a RabbitMQ `definitions.json` export) into a
checked `model.Topology`. Every error names the file, the entity and the field:
`init.toml: queues[orders].attributes.VisibilityTimeout must be string`.

RabbitMQ definitions map as far as they can: vhosts, exchanges, queues, bindings, and
policies (their `definition` keys become the `x-` arguments of the queues they match,
as RabbitMQ applies them, unless the queue sets the argument itself). Users are not
imported (their passwords are hashes): they are listed in `Topology.skipped`, and the
log says so; AMQP users come from `--amqp-user`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from mqlite.errors import MqliteError
from mqlite.protocols.http.admin.openapi import decode
from mqlite.protocols.http.admin.problems import Problem
from mqlite.protocols.provision import model as T

SECTIONS: dict[str, type] = {
    "queues": T.QueueSpec, "topics": T.TopicSpec, "streams": T.StreamSpec,
    "exchanges": T.ExchangeSpec, "amqp_queues": T.AmqpQueueSpec, "bindings": T.BindingSpec,
    "event_buses": T.EventBusSpec,
}
# RabbitMQ policy keys that are queue arguments (x-<key>)
POLICY_ARGS = ("dead-letter-exchange", "dead-letter-routing-key", "message-ttl", "expires",
               "max-length", "max-length-bytes", "overflow", "max-priority", "queue-mode",
               "single-active-consumer", "delivery-limit")


class ProvisionError(MqliteError):
    """An init/import file that cannot be applied; the message names file, entity, field."""


def load_file(path: Path) -> dict[str, Any]:
    """The document in `path` (TOML by its suffix, else JSON), RabbitMQ's converted."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProvisionError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ProvisionError(f"{path}: not valid {kind}: {exc}") from None
    if not isinstance(doc, dict):
        raise ProvisionError(f"{path}: the document must be an object (a table)")
    return from_rabbit(doc) if is_rabbit(doc) else doc


def is_rabbit(doc: dict[str, Any]) -> bool:
    """A RabbitMQ definitions export: versions, users or permissions, or RabbitMQ's
    queue/binding shapes (queues with a vhost and no section of ours)."""
    if {"rabbit_version", "rabbitmq_version", "users", "permissions", "policies"} & set(doc):
        return True
    return any(isinstance(b, dict) and "destination_type" in b for b in doc.get("bindings") or []) and \
        "amqp_queues" not in doc and all(isinstance(q, dict) and "vhost" in q for q in doc.get("queues") or [])


def _policy_args(queue: dict[str, Any], policies: list[dict[str, Any]]) -> dict[str, Any]:
    """The x- arguments the highest-priority matching policy gives a queue."""
    matching = [p for p in policies
                if p.get("vhost", "/") == queue.get("vhost", "/")
                and p.get("apply-to", "all") in ("all", "queues", "classic_queues", "quorum_queues")
                and re.search(str(p.get("pattern", "")), str(queue.get("name", "")))]
    if not matching:
        return {}
    best = max(matching, key=lambda p: int(p.get("priority", 0)))
    return {f"x-{k}": v for k, v in (best.get("definition") or {}).items() if k in POLICY_ARGS}


def from_rabbit(doc: dict[str, Any]) -> dict[str, Any]:
    """RabbitMQ definitions -> our document (see module docstring)."""
    policies = [p for p in doc.get("policies") or [] if isinstance(p, dict)]
    queues = []
    for q in doc.get("queues") or []:
        if not isinstance(q, dict):
            queues.append(q)
            continue
        args = {**_policy_args(q, policies), **(q.get("arguments") or {})}
        queues.append({"name": q.get("name"), "vhost": q.get("vhost", "/"),
                       "durable": q.get("durable", True), "auto_delete": q.get("auto_delete", False),
                       "arguments": args})
    exchanges = [{k: v for k, v in e.items() if k in ("name", "vhost", "type", "durable", "auto_delete",
                                                      "internal", "arguments")}
                 if isinstance(e, dict) else e for e in doc.get("exchanges") or []]
    bindings = [{k: v for k, v in b.items() if k in ("source", "vhost", "destination", "destination_type",
                                                     "routing_key", "arguments")}
                if isinstance(b, dict) else b for b in doc.get("bindings") or []]
    vhosts = [v.get("name") if isinstance(v, dict) else v for v in doc.get("vhosts") or []]
    out: dict[str, Any] = {"vhosts": vhosts, "exchanges": exchanges, "amqp_queues": queues,
                           "bindings": bindings}
    users = [u.get("name") for u in doc.get("users") or [] if isinstance(u, dict)]
    if users:
        out["_skipped"] = [f"user {u} (password hashes are not imported; use --amqp-user)" for u in users]
    return out


def parse(doc: dict[str, Any], source: str) -> T.Topology:
    """Check a document against the schema; ProvisionError naming file, entity, field."""
    doc = dict(doc)
    skipped = doc.pop("_skipped", [])
    unknown = sorted(set(doc) - set(SECTIONS) - {"vhosts"})
    if unknown:
        raise ProvisionError(f"{source}: unknown section {unknown[0]!r} "
                             f"(expected {', '.join(['vhosts', *SECTIONS])})")
    topo = T.Topology()
    vhosts = doc.get("vhosts", [])
    if not isinstance(vhosts, list) or not all(isinstance(v, str) and v for v in vhosts):
        raise ProvisionError(f"{source}: vhosts must be a list of names")
    topo.vhosts = list(vhosts)
    for section, cls in SECTIONS.items():
        items = doc.get(section, [])
        if not isinstance(items, list):
            raise ProvisionError(f"{source}: {section} must be a list (an array of tables)")
        seen: set[tuple[str, ...]] = set()
        parsed = []
        for i, item in enumerate(items):
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
            if section == "bindings" and isinstance(item, dict):
                label = f"{item.get('source')}->{item.get('destination')}"
            where = f"{section}[{label if label is not None else i}]"
            try:
                spec = decode(cls, item, where)
            except Problem as exc:
                raise ProvisionError(f"{source}: {exc.detail}") from None
            key = _identity(section, spec)
            if key in seen:
                raise ProvisionError(f"{source}: {where}: declared twice")
            seen.add(key)
            parsed.append(spec)
        setattr(topo, section, parsed)
    topo.skipped = list(skipped)  # type: ignore[attr-defined]
    return topo


def _identity(section: str, spec: Any) -> tuple[str, ...]:
    if section == "bindings":
        return (spec.vhost, spec.source, spec.destination_type, spec.destination, spec.routing_key,
                json.dumps(spec.arguments, sort_keys=True))
    return (getattr(spec, "vhost", ""), spec.name)


def load(path: Path) -> T.Topology:
    return parse(load_file(path), str(path))
