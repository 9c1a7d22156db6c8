"""The rules EventBridge manages for archives: `Events-Archive-<archive>` on the source bus.

AWS shows every archive as a managed rule (ListRules, DescribeRule, ListTargetsByRule;
ManagedBy `prod.vhs.events.aws.internal`) whose pattern is the archive's with
`"replay-name": [{"exists": false}]` added (replayed events are not archived again) and
whose one target (`arn:aws:events:<region>:::`) carries the archive ARN in an input
template. mqlite archives through its own binding (see common.py); these rules are views
computed from the archives, read-only: the write actions do not see them.
Pure functions over the archive records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from mqlite.protocols.aws.events.common import rule_arn

MANAGED_BY = "prod.vhs.events.aws.internal"
PREFIX = "Events-Archive-"


def archive_rule(archive: dict[str, Any], account: str) -> dict[str, Any]:
    """The managed rule of one archive, as a stored rule record would look."""
    pattern = orjson.loads(archive["pattern"]) if archive.get("pattern") else {}
    pattern["replay-name"] = [{"exists": False}]
    name = PREFIX + archive["name"]
    template = (f'{{"archive-arn": "{archive["arn"]}", "event": <aws.events.event.json>, '
                '"ingestion-time": <aws.events.event.ingestion-time>}')
    region = archive["arn"].split(":")[3]  # the record's "region" is its scope key
    return {
        "name": name, "bus": archive["bus"], "region": archive["region"],
        "arn": rule_arn(region, account, archive["bus"], name),
        "pattern": orjson.dumps(pattern).decode(), "state": "ENABLED", "managed_by": MANAGED_BY,
        "targets": {name: {"Id": name, "Arn": f"arn:aws:events:{region}:::",
                           "InputTransformer": {"InputPathsMap": {}, "InputTemplate": template}}},
    }


def archive_rules(archives: Iterable[dict[str, Any]], bus: str, account: str) -> list[dict[str, Any]]:
    """The managed rules on `bus` (archives of one region), by name."""
    return sorted((archive_rule(a, account) for a in archives if a["bus"] == bus), key=lambda r: r["name"])
