"""`mqlite ls|show|send|tail|purge|delete|reset|groups|stats|export|import`: the CLI over
a running server's admin API.

`register(subparsers)` adds the subcommands to the `mqlite` parser; `run(args)` runs
one and returns its exit status: 0 done, 1 the server refused (the problem's detail is
printed on one line), 2 a usage mistake, 69 no server answered. People get tables;
`--json` prints the API's JSON (JSON lines for `tail`), for scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from mqlite.ctl.client import DEFAULT_URL, Client, CtlError
from mqlite.ctl.output import Progress, emit_json, table

COMMANDS = ("ls", "show", "send", "tail", "purge", "delete", "reset", "groups", "stats", "export", "import")
KIND_CHOICES = ("queues", "streams", "routers", "groups", "queue", "stream", "router", "group")
BATCH = 500  # messages per publish request
PAGE = 1000  # messages per peek request (the API's maximum)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help=f"server's HTTP address (default $MQLITE_URL or {DEFAULT_URL})")
    p.add_argument("--auth", default=None, metavar="ID:SECRET", help="admin credentials when keys are configured")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def register(sub: Any) -> None:
    """Add the subcommands to the `mqlite` parser's subparsers."""
    p = sub.add_parser("ls", help="list entities (all kinds, or one)")
    p.add_argument("kind", nargs="?", choices=KIND_CHOICES)
    p.add_argument("--prefix", default="")
    p = sub.add_parser("show", help="describe one entity")
    p.add_argument("name")
    p.add_argument("--kind", choices=KIND_CHOICES)
    p = sub.add_parser("send", help="publish messages to a queue, stream or topic")
    p.add_argument("name")
    p.add_argument("body", nargs="?", help="the message body (default: --file, or stdin)")
    p.add_argument("--file", "-f", help="read the body from a file ('-' for stdin)")
    p.add_argument("--lines", action="store_true", help="one message per line of the input")
    p.add_argument("--key", "-k")
    p.add_argument("--partition", "-p", type=int)
    p.add_argument("--attribute", "-a", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--header", "-H", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--routing-key", default="")
    p.add_argument("--group-id", help="FIFO message group")
    p.add_argument("--kind", choices=KIND_CHOICES)
    p = sub.add_parser("tail", help="print messages of a stream or queue (peeking), optionally following")
    p.add_argument("name")
    p.add_argument("--from", dest="start", default="earliest",
                   help="earliest | latest | an offset | a time (ISO 8601 or ms since epoch)")
    p.add_argument("--group", "-g", help="streams: read from and commit to this consumer group")
    p.add_argument("--partition", "-p", type=int)
    p.add_argument("--follow", "-F", action="store_true", help="keep printing new messages")
    p.add_argument("--limit", "-n", type=int, help="stop after this many messages")
    p.add_argument("--kind", choices=KIND_CHOICES)
    for name, helptext in (("purge", "delete every message of a queue or stream"),
                           ("delete", "delete an entity and its data")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("name")
        p.add_argument("--kind", choices=KIND_CHOICES)
    p = sub.add_parser("reset", help="delete all state (or one kind's or one service's)")
    p.add_argument("--scope", default="all")
    p = sub.add_parser("groups", help="consumer groups with lag per partition")
    p.add_argument("name", nargs="?")
    p = sub.add_parser("stats", help="totals and rates")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between the two samples")
    p = sub.add_parser("export", help="write the topology in the --init format")
    p.add_argument("file", nargs="?", help="default stdout")
    p = sub.add_parser("import", help="apply a topology file (--init format or RabbitMQ definitions)")
    p.add_argument("file")
    for name in COMMANDS:
        _common(sub.choices[name])


def run(args: argparse.Namespace) -> int:
    """Run one subcommand; print errors on one line; return the exit status."""
    import os

    client = Client(args.url or os.environ.get("MQLITE_URL") or DEFAULT_URL, args.auth)
    try:
        return int(HANDLERS[args.command](client, args) or 0)
    except CtlError as exc:
        print(f"mqlite {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mqlite tail x | head`
        return 0


def _kind(client: Client, args: argparse.Namespace) -> str:
    return client.resolve(args.name, getattr(args, "kind", None))


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CtlError(f"{flag} {item!r}: expected NAME=VALUE", 2)
        out[name] = value
    return out


# -- reading ----------------------------------------------------------------------------
def cmd_ls(client: Client, args: argparse.Namespace) -> int:
    kind = args.kind if args.kind is None or args.kind.endswith("s") else args.kind + "s"
    items = client.get(f"/{kind}" if kind else "/entities", prefix=args.prefix or None)["items"]
    if args.json:
        emit_json(items)
    else:
        table([(i["kind"], i["name"], i["origin"], i["depth"]) for i in items], ("kind", "name", "origin", "depth"))
    return 0


def cmd_show(client: Client, args: argparse.Namespace) -> int:
    kind = _kind(client, args)
    info = client.get(f"/{kind}/{_q(args.name)}")
    if args.json:
        emit_json(info)
        return 0
    nested = {"partitions", "bindings", "members", "offsets", "attributes", "config"}
    table([(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in info.items()
           if k not in nested], ("field", "value"))
    for key in ("partitions", "bindings", "offsets", "members"):
        rows = info.get(key)
        if rows:
            print(f"\n{key}:")
            table([[json.dumps(v) if isinstance(v, (dict, list)) else v for v in r.values()] for r in rows],
                  list(rows[0].keys()))
    for key in ("attributes", "config"):
        if info.get(key):
            print(f"\n{key}:")
            table(sorted(info[key].items()), ("name", "value"))
    return 0


def cmd_groups(client: Client, args: argparse.Namespace) -> int:
    names = [args.name] if args.name else [i["name"] for i in client.get("/groups")["items"]]
    groups = [client.get(f"/groups/{_q(n)}") for n in names]
    if args.json:
        emit_json(groups)
        return 0
    rows = []
    for g in groups:
        for o in g["offsets"] or [{"stream": "", "partition": "", "committed": "", "latest": "", "lag": ""}]:
            rows.append((g["name"], g["state"], len(g["members"]), o["stream"], o["partition"],
                         o["committed"], o["latest"], o["lag"]))
    table(rows, ("group", "state", "members", "stream", "partition", "committed", "latest", "lag"))
    return 0


def cmd_stats(client: Client, args: argparse.Namespace) -> int:
    first = client.get("/stats")
    time.sleep(max(0.0, args.interval))
    second = client.get("/stats")
    secs = max((second["time_ms"] - first["time_ms"]) / 1000, 1e-3)
    rates = {k: (second[k] - first[k]) / secs for k in ("messages_in_queues", "messages_in_streams", "bytes_in_streams")}
    if args.json:
        emit_json({"now": second, "rates_per_second": rates})
        return 0
    rows = [(k, second[k], "" if k not in rates else f"{rates[k]:+,.1f}/s")
            for k in ("queues", "streams", "routers", "groups", "messages_in_queues",
                      "messages_in_streams", "bytes_in_streams")]
    rows += [(f"connections ({p})", n, "") for p, n in sorted(second["connections"].items())]
    table(rows, ("metric", "value", "rate"))
    return 0


# -- tail ---------------------------------------------------------------------------------
def _start(spec: str) -> dict[str, Any]:
    """--from: earliest / latest / an offset / a time."""
    if spec in ("earliest", "latest"):
        return {spec: True}
    if spec.isdigit() and len(spec) < 12:
        return {"offset": int(spec)}
    if spec.isdigit():
        return {"from_time": int(spec)}
    try:
        when = dt.datetime.fromisoformat(spec.replace("Z", "+00:00"))
    except ValueError:
        raise CtlError(f"--from {spec!r}: expected earliest, latest, an offset or an ISO 8601 time", 2) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return {"from_time": int(when.timestamp() * 1000)}


def _format(m: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return orjson.dumps(m, option=orjson.OPT_SORT_KEYS).decode() + "\n"
    key = f" key={m['key']}" if m.get("key") else ""
    return f"{m['partition']}/{m['offset']}{key} {m['body']}\n"


def cmd_tail(client: Client, args: argparse.Namespace) -> int:
    kind = _kind(client, args)
    if kind not in ("streams", "queues"):
        raise CtlError(f"{args.name!r} is a {kind[:-1]}: tail reads streams and queues", 2)
    if args.group and kind != "streams":
        raise CtlError("--group applies to streams (queues are consumed by their protocols)", 2)
    start = _start(args.start)
    positions: dict[int, int | None] = {}
    if kind == "streams":
        info = client.get(f"/streams/{_q(args.name)}")
        committed: dict[int, int] = {}
        if args.group:
            try:
                g = client.get(f"/groups/{_q(args.group)}")
                committed = {o["partition"]: o["committed"] for o in g["offsets"] if o["stream"] == args.name}
            except CtlError:
                committed = {}
        for p in info["partitions"]:
            if args.partition is not None and p["partition"] != args.partition:
                continue
            pos = committed.get(p["partition"])
            if pos is None:
                pos = p["latest"] if "latest" in start else start.get("offset")
            positions[p["partition"]] = pos
    else:
        positions[0] = start.get("offset")
        if "latest" in start:  # after the last live message: page to the end once
            page: dict[str, Any] = {"next_offset": 0, "messages": [None] * PAGE}
            while len(page["messages"]) == PAGE:
                page = client.get(f"/queues/{_q(args.name)}/messages", limit=PAGE,
                                  offset=page["next_offset"])
                positions[0] = page["next_offset"] if page["next_offset"] is not None else positions[0]
    from_time = start.get("from_time")
    printed = 0
    while True:
        got = 0
        for part, pos in positions.items():
            query: dict[str, Any] = {"limit": PAGE if args.limit is None else min(PAGE, args.limit - printed)}
            if kind == "streams":
                query["partition"] = part
            if pos is not None:
                query["offset"] = pos
            elif from_time is not None:
                query["from_time"] = from_time
            if query["limit"] <= 0:
                break
            page = client.get(f"/{kind}/{_q(args.name)}/messages", **query)
            messages = page["messages"]
            if messages:  # one write per page
                sys.stdout.write("".join(_format(m, args.json) for m in messages))
                sys.stdout.flush()
                positions[part] = messages[-1]["offset"] + 1
                printed += len(messages)
            got += len(messages)
            if args.group and page["messages"]:
                client.post(f"/groups/{_q(args.group)}/offsets",
                            {"stream": args.name, "partition": part, "offset": positions[part]})
        if args.limit is not None and printed >= args.limit:
            return 0
        if not got:
            if not args.follow:
                return 0
            time.sleep(0.2)


# -- writing ------------------------------------------------------------------------------
def _bodies(args: argparse.Namespace) -> list[str]:
    if args.body is not None and args.file is not None:
        raise CtlError("give the body as an argument or with --file, not both", 2)
    if args.body is not None:
        text = args.body
    elif args.file in (None, "-"):
        if args.file is None and sys.stdin.isatty():
            raise CtlError("no body: give one as an argument, with --file, or on stdin", 2)
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.file).read_text()
        except OSError as exc:
            raise CtlError(f"cannot read {args.file}: {exc.strerror}", 2) from None
    if args.lines:
        return [line for line in text.splitlines() if line]
    return [text]


def cmd_send(client: Client, args: argparse.Namespace) -> int:
    kind = _kind(client, args)
    template: dict[str, Any] = {"attributes": _pairs(args.attribute, "--attribute"),
                                "headers": _pairs(args.header, "--header"),
                                "routing_key": args.routing_key}
    for field in ("key", "partition", "group_id"):
        if getattr(args, field) is not None:
            template[field] = getattr(args, field)
    bodies = _bodies(args)
    results: list[Any] = []
    with Progress(len(bodies) if len(bodies) > 1 else None, "sending") as progress:
        for i in range(0, len(bodies), BATCH):
            chunk = [{**template, "body": b} for b in bodies[i:i + BATCH]]
            results += client.post(f"/{kind}/{_q(args.name)}/messages", {"messages": chunk})["results"]
            progress.advance(len(chunk))
    if args.json:
        emit_json(results if len(results) > 1 else results[0])
    elif len(results) == 1:
        r = results[0]
        print(" ".join(f"{k}={v}" for k, v in r.items() if v is not None))
    else:
        print(f"sent {len(results)} messages")
    return 0


def cmd_purge(client: Client, args: argparse.Namespace) -> int:
    res = client.post(f"/{_kind(client, args)}/{_q(args.name)}/purge")
    emit_json(res) if args.json else print(f"purged {res['purged']} messages from {args.name}")
    return 0


def cmd_delete(client: Client, args: argparse.Namespace) -> int:
    kind = _kind(client, args)
    res = client.delete(f"/{kind}/{_q(args.name)}")
    emit_json(res) if args.json else print(f"deleted {kind[:-1]} {args.name}")
    return 0


def cmd_reset(client: Client, args: argparse.Namespace) -> int:
    res = client.post("/reset", {"scope": args.scope})
    if args.json:
        emit_json(res)
    else:
        counts = ", ".join(f"{n} {k}" for k, n in res["deleted"].items() if n) or "nothing"
        print(f"reset {res['scope']}: deleted {counts} in {res['duration_ms']:.1f} ms")
    return 0


def cmd_export(client: Client, args: argparse.Namespace) -> int:
    doc = client.get("/topology")
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if args.file:
        Path(args.file).write_text(text)
        if not args.json:
            total = sum(len(v) for v in doc.values() if isinstance(v, list))
            print(f"exported {total} entities to {args.file}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(client: Client, args: argparse.Namespace) -> int:
    from mqlite.protocols.provision.loader import ProvisionError, load_file, parse

    try:  # checked here first, so the error names the file (the server re-checks)
        doc = load_file(Path(args.file))
        parse(doc, args.file)
    except ProvisionError as exc:  # names the file, the entity and the field
        raise CtlError(str(exc), 2) from None
    with Progress(1, "importing") as progress:
        res = client.post("/topology", doc)
        progress.advance()
    emit_json(res) if args.json else print(
        f"imported {args.file}: " + ", ".join(f"{n} {k}" for k, n in res["applied"].items() if n))
    return 0


def _q(name: str) -> str:
    import urllib.parse

    return urllib.parse.quote(name, safe="")


HANDLERS = {
    "ls": cmd_ls, "show": cmd_show, "send": cmd_send, "tail": cmd_tail, "purge": cmd_purge,
    "delete": cmd_delete, "reset": cmd_reset, "groups": cmd_groups, "stats": cmd_stats,
    "export": cmd_export, "import": cmd_import,
}
