"""Helpers for the Kinesis tests: a boto3 Kinesis client and a read-until-caught-up loop."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

CREDS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
CONFIG = Config(retries={"max_attempts": 1}, read_timeout=60)


def kinesis_client(server: Any) -> Any:
    return boto3.client("kinesis", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        config=CONFIG, **CREDS)


def read_all(client: Any, stream: str, shard: str, kind: str = "TRIM_HORIZON", **kw: Any) -> list[Any]:
    """GetRecords from `kind` until caught up (MillisBehindLatest 0 and no records) or
    the shard is closed and read to its end."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind,
                                   **kw)["ShardIterator"]
    out: list[Any] = []
    while it:
        page = client.get_records(ShardIterator=it)
        out.extend(page["Records"])
        it = page.get("NextShardIterator")
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            break
    return out
