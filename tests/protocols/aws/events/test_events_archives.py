"""Archives and replays through boto3.

Rules checked (EventBridge API reference): CreateArchive keeps the source bus's events
that match its EventPattern (all when none) with RetentionDays; Describe/List/Update/
DeleteArchive; a taken name is ResourceAlreadyExistsException and a missing archive
ResourceNotFoundException "Archive <n> does not exist."; StartReplay re-sends the
archived events of [EventStartTime, EventEndTime) in time order to the bus's rules (or
only Destination.FilterArns) with `replay-name` in the envelope, never re-archiving them;
cross-bus replay and inverted time ranges are ValidationExceptions; a finished replay
cannot be cancelled (IllegalStatusException).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


@pytest.fixture
def sqs(client_factory: Any) -> Any:
    return client_factory(service="sqs")


def err(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = info.value.response["Error"]
    return str(e["Code"]), str(e["Message"])


def bus_arn(name: str = "default") -> str:
    return f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{name}"


def send(events: Any, *numbers: int, source: str = "shop") -> None:
    events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": json.dumps({"n": n})}
                               for n in numbers])


def wait_replay(events: Any, name: str) -> dict[str, Any]:
    """Poll DescribeReplay until the replay reaches a final state (bounded)."""
    for _ in range(200):
        desc = events.describe_replay(ReplayName=name)
        if desc["State"] in ("COMPLETED", "CANCELLED", "FAILED"):
            return dict(desc)
        time.sleep(0.05)
    raise AssertionError(f"replay {name} did not finish: {desc}")


def test_archive_lifecycle_counts_matching_events(events: Any) -> None:
    """An archive with a pattern keeps only matching events; EventCount follows."""
    out = events.create_archive(ArchiveName="a1", EventSourceArn=bus_arn(), RetentionDays=3,
                                EventPattern='{"source": ["shop"]}', Description="d")
    assert out["State"] == "ENABLED"
    assert out["ArchiveArn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:archive/a1"
    with pytest.raises(ClientError) as info:
        events.create_archive(ArchiveName="a1", EventSourceArn=bus_arn())
    assert err(info) == ("ResourceAlreadyExistsException", "Archive a1 already exists.")
    send(events, 1, 2)
    send(events, 3, source="other")
    desc = events.describe_archive(ArchiveName="a1")
    assert (desc["EventCount"], desc["RetentionDays"], desc["Description"]) == (2, 3, "d")
    assert desc["SizeBytes"] > 0 and desc["EventSourceArn"] == bus_arn()
    events.update_archive(ArchiveName="a1", RetentionDays=7, Description="e")
    desc = events.describe_archive(ArchiveName="a1")
    assert (desc["RetentionDays"], desc["Description"]) == (7, "e")
    events.create_archive(ArchiveName="b2", EventSourceArn=bus_arn())
    assert [a["ArchiveName"] for a in events.list_archives()["Archives"]] == ["a1", "b2"]
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix="b")["Archives"]] == ["b2"]
    with pytest.raises(ClientError) as info:
        events.list_archives(NamePrefix="a", State="ENABLED")
    assert err(info)[0] == "ValidationException"
    events.delete_archive(ArchiveName="a1")
    with pytest.raises(ClientError) as info:
        events.describe_archive(ArchiveName="a1")
    assert err(info) == ("ResourceNotFoundException", "Archive a1 does not exist.")
    with pytest.raises(ClientError) as info:
        events.create_archive(ArchiveName="bad", EventSourceArn=bus_arn(), EventPattern='{"x": 1}')
    assert err(info)[0] == "InvalidEventPatternException"


def test_archive_then_replay_into_a_new_rule(events: Any, sqs: Any) -> None:
    """Events archived before a rule existed are replayed, in order, to that new rule,
    carrying replay-name, and are not archived a second time."""
    archive_arn = events.create_archive(ArchiveName="all", EventSourceArn=bus_arn())["ArchiveArn"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    send(events, 1, 2, 3)
    send(events, 4)
    url = sqs.create_queue(QueueName="late")["QueueUrl"]
    rule_arn = events.put_rule(Name="late", EventPattern='{"source": ["shop"]}')["RuleArn"]
    events.put_targets(Rule="late", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:late"}])
    events.put_rule(Name="unrelated", EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule="unrelated", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:late"}])
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    out = events.start_replay(ReplayName="rp1", EventSourceArn=archive_arn, EventStartTime=start,
                              EventEndTime=end, Destination={"Arn": bus_arn(), "FilterArns": [rule_arn]})
    assert out["State"] == "STARTING"
    desc = wait_replay(events, "rp1")
    assert desc["State"] == "COMPLETED"
    assert desc["Destination"] == {"Arn": bus_arn(), "FilterArns": [rule_arn]}
    got = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            break
        got += [json.loads(m["Body"]) for m in msgs]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(msgs)])
    assert [e["detail"]["n"] for e in got] == [1, 2, 3, 4]  # only the filtered rule, in order
    assert {e["replay-name"] for e in got} == {"rp1"}
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 4  # replays are not archived
    assert [r["ReplayName"] for r in events.list_replays()["Replays"]] == ["rp1"]
    with pytest.raises(ClientError) as info:
        events.cancel_replay(ReplayName="rp1")
    assert err(info) == ("IllegalStatusException", "Replay rp1 is not in a valid state for this operation.")
    with pytest.raises(ClientError) as info:
        events.start_replay(ReplayName="rp1", EventSourceArn=archive_arn, EventStartTime=start,
                            EventEndTime=end, Destination={"Arn": bus_arn()})
    assert err(info) == ("ResourceAlreadyExistsException", "Replay rp1 already exists.")


def test_replay_validation(events: Any) -> None:
    """Unknown archive, cross-bus destination, inverted range, unknown replay."""
    archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn())["ArchiveArn"]
    events.create_event_bus(Name="other")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t1 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(ClientError) as info:
        events.start_replay(ReplayName="r", EventSourceArn=archive_arn.replace("/a", "/zz"),
                            EventStartTime=t0, EventEndTime=t1, Destination={"Arn": bus_arn()})
    assert err(info) == ("ValidationException",
                         "Parameter EventSourceArn is not valid. Reason: Archive zz does not exist.")
    with pytest.raises(ClientError) as info:
        events.start_replay(ReplayName="r", EventSourceArn=archive_arn, EventStartTime=t0, EventEndTime=t1,
                            Destination={"Arn": bus_arn("other")})
    assert err(info) == ("ValidationException",
                         "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
    with pytest.raises(ClientError) as info:
        events.start_replay(ReplayName="r", EventSourceArn=archive_arn, EventStartTime=t1, EventEndTime=t0,
                            Destination={"Arn": bus_arn()})
    assert err(info)[0] == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.describe_replay(ReplayName="nope")
    assert err(info) == ("ResourceNotFoundException", "Replay nope does not exist.")


def test_cancel_replay_before_it_runs(events: Any, aws_server: Any) -> None:
    """CancelReplay: CANCELLING at once, then CANCELLED; nothing is re-sent. (Start and
    cancel are issued in one loop turn through the handlers, so the replay cannot finish
    first; DescribeReplay is then asked through boto3.)"""
    from mqlite.protocols.aws.events.common import find_state
    from mqlite.protocols.aws.frontend import AwsContext
    from mqlite.protocols.aws.wire import Protocol

    archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn())["ArchiveArn"]
    send(events, 1, 2, 3)
    state = find_state(aws_server.core)
    assert state is not None
    ctx = AwsContext("us-east-1", ACCOUNT, "h", "http", Protocol.JSON, "r")
    t0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
    t1 = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()

    async def start_and_cancel() -> str:
        await state.replayer.start_replay(ctx, {"ReplayName": "c", "EventSourceArn": archive_arn,
                                                "EventStartTime": t0, "EventEndTime": t1,
                                                "Destination": {"Arn": bus_arn()}})
        return str((await state.replayer.cancel_replay(ctx, {"ReplayName": "c"}))["State"])

    assert aws_server.call(start_and_cancel) == "CANCELLING"
    assert wait_replay(events, "c")["State"] == "CANCELLED"
    assert [r["ReplayName"] for r in events.list_replays(State="CANCELLED")["Replays"]] == ["c"]
