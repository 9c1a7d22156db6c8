"""SNS HTTP/S DeliveryPolicy retry phases (AWS "Amazon SNS message delivery retries"):
immediate retries (numNoDelayRetries), pre-backoff (numMinDelayRetries at
minDelayTarget), backoff (the rest of numRetries, minDelayTarget -> maxDelayTarget by
backoffFunction), post-backoff (numMaxDelayRetries at maxDelayTarget); default 3 retries
20 s apart. The end-to-end test injects a recording sleep into the shared HttpDelivery,
so nothing really waits."""

from __future__ import annotations

import json
from typing import Any

from sns_support import Receiver, client, drain, make_queue

from mqlite.protocols.aws.sns.http_subscriptions import retry_schedule


def test_default_policy_is_three_retries_twenty_seconds_apart() -> None:
    """AWS default HTTP/S policy: numRetries 3, min = max = 20 s, no immediate retries."""
    assert retry_schedule({}) == [20.0, 20.0, 20.0]


def test_phases_come_in_aws_order() -> None:
    """2 immediate, 2 pre-backoff at min, 4 backoff min -> max, 1 post-backoff at max."""
    policy = {"numRetries": 9, "numNoDelayRetries": 2, "numMinDelayRetries": 2,
              "numMaxDelayRetries": 1, "minDelayTarget": 2, "maxDelayTarget": 8}
    assert retry_schedule({**policy, "backoffFunction": "linear"}) == [0, 0, 2, 2, 2, 4, 6, 8, 8]
    assert retry_schedule({**policy, "backoffFunction": "geometric"})[4:8] == [2, 3.174802, 5.039684, 8]


def test_every_backoff_function_rises_from_min_to_max() -> None:
    for fn in ("linear", "arithmetic", "geometric", "exponential"):
        delays = retry_schedule({"numRetries": 6, "minDelayTarget": 1, "maxDelayTarget": 30,
                                 "backoffFunction": fn})
        assert delays[0] == 1 and delays[-1] == 30 and delays == sorted(delays), fn
    lin = retry_schedule({"numRetries": 6, "minDelayTarget": 1, "maxDelayTarget": 30})
    exp = retry_schedule({"numRetries": 6, "minDelayTarget": 1, "maxDelayTarget": 30,
                          "backoffFunction": "exponential"})
    assert exp[1] < lin[1]  # exponential starts slower than linear


def test_phases_that_exceed_num_retries_are_truncated_and_total_is_capped() -> None:
    """numRetries is the total; the schedule never exceeds AWS's 3,600 s limit."""
    assert retry_schedule({"numRetries": 3, "numNoDelayRetries": 5}) == [0, 0, 0]
    long = retry_schedule({"numRetries": 100, "minDelayTarget": 3600, "maxDelayTarget": 3600})
    assert long == [3600.0]


def test_http_retries_follow_the_phases_then_dead_letter(sns_server: Any) -> None:
    """A 500-answering endpoint: 1 + numRetries attempts, waiting the phase delays (recorded
    by the injected sleep), then the RedrivePolicy DLQ gets the message."""
    sleeps: list[float] = []

    async def record(d: float) -> None:
        sleeps.append(d)

    async def inject() -> None:
        sns_server.core.routers.http.sleep = record

    sns_server.call(inject)
    sns, sqs = client(sns_server, "sns"), client(sns_server, "sqs")
    failing = Receiver([200] + [500] * 20)
    try:
        topic = sns.create_topic(Name="phased")["TopicArn"]
        dlq_url, dlq_arn = make_queue(sqs, "phased-dlq")
        policy = {"healthyRetryPolicy": {
            "numRetries": 6, "numNoDelayRetries": 1, "numMinDelayRetries": 1, "numMaxDelayRetries": 1,
            "minDelayTarget": 5, "maxDelayTarget": 45, "backoffFunction": "linear"}}
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=failing.url, ReturnSubscriptionArn=True,
                      Attributes={"DeliveryPolicy": json.dumps(policy),
                                  "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
        (conf,) = failing.wait_for(1)
        sns.confirm_subscription(TopicArn=topic, Token=json.loads(conf["body"])["Token"])
        sleeps.clear()  # the confirmation POST succeeded at once; count only the notification
        sns.publish(TopicArn=topic, Message="doomed")
        (dead,) = drain(sqs, dlq_url, expect=1, wait=10)
        assert json.loads(dead["Body"])["Message"] == "doomed"
        assert len(failing.wait_for(8)) == 8  # confirmation + 7 attempts
        assert sleeps == [5.0, 5.0, 25.0, 45.0, 45.0]  # 0 (immediate) is not slept
    finally:
        failing.close()
