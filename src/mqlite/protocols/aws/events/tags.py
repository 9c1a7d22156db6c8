"""TagResource, UntagResource, ListTagsForResource for every EventBridge resource ARN.

Buses, rules, archives, replays, connections and API destinations can be tagged; the
resource must exist (ResourceNotFoundException, with the rule/bus wording for those);
at most 50 tags per resource (LimitExceededException). Tags live in the catalog
namespace `events/tags` keyed by ARN and are removed with their resource.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.aws.events.common import EventsState
from mqlite.protocols.aws.events.errors import limit_exceeded, not_found
from mqlite.protocols.aws.frontend import AwsContext

MAX_TAGS = 50


class TagActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _require(self, arn: str) -> None:
        s = self.state
        for store in (s.buses, s.rules, s.archives, s.connections, s.api_destinations, s.replays):
            if any(item.get("arn") == arn for item in store.values()):
                return
        parts = arn.split(":", 5)
        resource = parts[5] if len(parts) == 6 else arn
        kind, _, name = resource.partition("/")
        if kind == "rule":
            bus, _, rule = name.rpartition("/")
            raise not_found(f"Rule {rule} does not exist on EventBus {bus or 'default'}.")
        if kind == "event-bus":
            raise not_found(f"Event bus {name} does not exist.")
        raise not_found(f"Resource {arn} does not exist.")

    async def tag_resource(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """TagResource: add or overwrite tags."""
        arn = p["ResourceARN"]
        self._require(arn)
        tags = self.state.get_tags(arn)
        tags.update({t["Key"]: t["Value"] for t in p["Tags"]})
        if len(tags) > MAX_TAGS:
            raise limit_exceeded("The resource has reached the maximum number of tags (50).")
        self.state.set_tags(arn, tags)
        return {}

    async def untag_resource(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UntagResource: remove the named tag keys (absent keys are ignored)."""
        arn = p["ResourceARN"]
        self._require(arn)
        tags = self.state.get_tags(arn)
        for key in p["TagKeys"]:
            tags.pop(key, None)
        self.state.set_tags(arn, tags)
        return {}

    async def list_tags_for_resource(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListTagsForResource: the resource's tags as Key/Value pairs."""
        arn = p["ResourceARN"]
        self._require(arn)
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(self.state.get_tags(arn).items())]}
