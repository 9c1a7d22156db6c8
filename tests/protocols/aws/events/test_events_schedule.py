"""Scheduled rules: EventBridge's rate()/cron() expressions and firing on a fake clock.

Rules checked (EventBridge user guide, "Schedule expressions for rules"): rate(n unit)
with singular units exactly for 1; cron has six UTC fields with exactly one of
day-of-month/day-of-week `?`, names for months and weekdays (1 = SUN), `L` for the last
day of the month, `W`/`LW` nearest weekdays, `#` and `L` in the day of week; a rate rule first fires one period after it is created; a scheduled
rule sends "Scheduled Event" from source "aws.events" with the rule's ARN in resources
and an empty detail; disabled rules do not fire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest

from mqlite.core.clock import ManualClock
from mqlite.protocols.aws.events.common import find_state
from mqlite.protocols.aws.events.schedule import (
    ScheduleError,
    Scheduler,
    parse_schedule,
)

START = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)  # a Monday
START_MS = int(START.timestamp() * 1000)


def at(ms: int | None) -> dt.datetime:
    assert ms is not None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


@pytest.mark.parametrize("expr,expected", [
    ("rate(1 minute)", START + dt.timedelta(minutes=1)),
    ("rate(5 minutes)", START + dt.timedelta(minutes=5)),
    ("rate(2 hours)", START + dt.timedelta(hours=2)),
    ("rate(1 day)", START + dt.timedelta(days=1)),
    ("cron(0 12 * * ? *)", dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)),
    ("cron(15 10 ? * MON-FRI *)", dt.datetime(2026, 3, 2, 10, 15, tzinfo=dt.UTC)),
    ("cron(0/20 * * * ? *)", dt.datetime(2026, 3, 2, 9, 40, tzinfo=dt.UTC)),
    ("cron(0 0 L * ? *)", dt.datetime(2026, 3, 31, 0, 0, tzinfo=dt.UTC)),
    ("cron(0 8 1 JAN ? 2027)", dt.datetime(2027, 1, 1, 8, 0, tzinfo=dt.UTC)),
    ("cron(0 18 ? * 1 *)", dt.datetime(2026, 3, 8, 18, 0, tzinfo=dt.UTC)),  # 1 = Sunday
    ("cron(0 9 ? * 2#1 *)", dt.datetime(2026, 4, 6, 9, 0, tzinfo=dt.UTC)),  # first Monday
    ("cron(0 9 ? * FRIL *)", dt.datetime(2026, 3, 27, 9, 0, tzinfo=dt.UTC)),  # last Friday
    ("cron(0 9 15W * ? *)", dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)),  # 15th is a Sunday
    ("cron(0 9 LW * ? *)", dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)),
    ("cron(0 9 1W * ? *)", dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)),
])
def test_next_firing_time(expr: str, expected: dt.datetime) -> None:
    """The first firing strictly after a time, in UTC."""
    assert at(parse_schedule(expr).next_after(START_MS)) == expected


@pytest.mark.parametrize("expr", ["rate(1 minutes)", "rate(2 minute)", "rate(0 hours)", "rate(5 weeks)",
                                  "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 * *)",
                                  "cron(61 * * * ? *)", "cron(0 9 ? * 2#6 *)", "cron(0 9 32W * ? *)",
                                  "every 5 minutes", ""])
def test_invalid_expressions_are_rejected(expr: str) -> None:
    """Anything outside EventBridge's two forms is not a schedule."""
    with pytest.raises(ScheduleError):
        parse_schedule(expr)


def test_scheduler_fires_once_per_period_on_a_manual_clock() -> None:
    """Fires when due, re-arms by the period, and a disarmed rule stops firing."""
    asyncio.run(_scheduler_fires())


async def _scheduler_fires() -> None:
    clock = ManualClock(START_MS)
    fired: list[str] = []

    async def fire(key: str) -> None:
        fired.append(key)

    sched = Scheduler(clock, fire)
    sched.arm("r", "rate(5 minutes)", True)
    sched.arm("off", "rate(1 minute)", False)
    assert await sched.fire_due() == 0
    clock.advance(299)
    assert await sched.fire_due() == 0
    clock.advance(1)
    assert await sched.fire_due() == 1
    assert await sched.fire_due() == 0
    clock.advance(300)
    await sched.fire_due()
    assert fired == ["r", "r"]
    sched.disarm("r")
    clock.advance(3600)
    assert await sched.fire_due() == 0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


def test_scheduled_rule_delivers_scheduled_event_on_time(clock: ManualClock, mqlite_server_factory: Any,
                                                         client_factory: Any) -> None:
    """A rate rule with an SQS target, end to end through boto3 and a ManualClock."""
    server = mqlite_server_factory(clock=clock, kafka_port=None, amqp_port=None, redis_port=None)
    events = client_factory(service="events", server=server)
    sqs = client_factory(service="sqs", server=server)
    url = sqs.create_queue(QueueName="ticks")["QueueUrl"]
    rule_arn = events.put_rule(Name="every5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every5", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:ticks"}])
    state = find_state(server.core)
    assert state is not None

    def tick(seconds: float) -> list[dict[str, Any]]:
        clock.advance(seconds)
        server.call(state.scheduler.fire_due)
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in msgs]

    assert tick(290) == []
    (event,) = tick(10)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                           "resources", "detail"]
    assert (event["detail-type"], event["source"], event["resources"], event["detail"]) == (
        "Scheduled Event", "aws.events", [rule_arn], {})
    assert event["time"] == at(clock.now_ms()).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(tick(300)) == 1
    events.disable_rule(Name="every5")
    assert tick(600) == []
    events.enable_rule(Name="every5")
    assert len(tick(300)) == 1
