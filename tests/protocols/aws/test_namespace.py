"""The AWS namespace resolver (protocols/aws/namespace.py): names, URLs and ARNs in, core
names out, and back. Pure values: no server."""

from __future__ import annotations

from mqlite.core.naming import is_fifo_name, is_internal_stream, validate_queue_name, validate_stream_name
from mqlite.protocols.aws.namespace import Namespace

HOME = "000000000000"
OTHER = "111122223333"
home = Namespace(HOME, "us-east-1", HOME, "us-east-1")
west = home.at(region="us-west-2")
other = home.at(account=OTHER)


def test_the_home_account_and_region_keep_bare_names() -> None:
    assert home.core("orders") == "orders"
    assert west.core("orders") == "orders@us-west-2"
    assert other.core("orders") == f"{OTHER}:orders"
    assert other.at(region="eu-west-1").core("q.fifo") == f"{OTHER}:q.fifo@eu-west-1"


def test_names_holding_a_separator_are_no_aws_names() -> None:
    assert home.core(f"{OTHER}:orders") is None
    assert home.core("orders@us-west-2") is None
    assert home.core("") is None


def test_split_and_local_invert_core() -> None:
    for ns in (home, west, other, other.at(region="eu-west-1")):
        core = ns.core("jobs.fifo")
        assert core is not None
        assert ns.split(core) == (ns.account, ns.region, "jobs.fifo")
        assert ns.local(core) == "jobs.fifo"
        assert all(o.local(core) is None for o in (home, west, other) if o != ns)
    # a core name no AWS request made (an AMQP queue) belongs to the home namespace only
    # when it holds no separator
    assert home.local("tasks.high") == "tasks.high"
    assert home.local("a:b") is None and home.local("user@host") is None


def test_urls_name_their_account_and_arns_their_account_and_region() -> None:
    assert home.core_of_url(f"http://localhost:4566/{HOME}/orders") == "orders"
    assert home.core_of_url(f"http://localhost:4566/{OTHER}/orders") == f"{OTHER}:orders"
    assert home.core_of_url("http://localhost:4566/queue/orders") == "orders"  # no account segment
    assert west.core_of_url("orders") == "orders@us-west-2"  # the request's region
    assert home.core_of_url(f"http://h/{HOME}/{OTHER}%3Aorders") is None
    assert home.core_of_arn(f"arn:aws:sqs:eu-west-1:{OTHER}:dlq", "sqs") == f"{OTHER}:dlq@eu-west-1"
    assert home.core_of_arn(f"arn:aws:kinesis:us-east-1:{HOME}:stream/s", "kinesis", "stream/") == "s"
    assert home.core_of_arn(f"arn:aws:sns:us-east-1:{HOME}:t", "sqs") is None
    assert other.arn("sqs", "q@ap-south-1") == f"arn:aws:sqs:ap-south-1:{HOME}:q"
    assert home.arn("firehose", f"{OTHER}:d", "deliverystream/") == f"arn:aws:firehose:us-east-1:{OTHER}:deliverystream/d"


def test_core_checks_a_qualified_name_by_its_body() -> None:
    assert validate_queue_name(f"{OTHER}:{'q' * 75}.fifo@ap-southeast-2", True)
    assert is_fifo_name("q.fifo@us-west-2") and not is_fifo_name("q@us-west-2")
    assert validate_stream_name(f"{OTHER}:clicks@eu-west-1", qualified=True)
    assert is_internal_stream(f"{OTHER}:__mqlite.firehose.logs@eu-west-1")
    for bad in (f"{OTHER}:a:b", "x:y"):
        try:
            validate_stream_name(bad, qualified=True)
        except Exception as exc:  # noqa: BLE001 - InvalidName, checked by its rule below
            assert "stream-name" in getattr(exc, "rule", "")
        else:
            raise AssertionError(f"{bad!r} accepted")
