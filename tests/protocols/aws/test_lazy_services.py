"""Lazy AWS services: mounting builds no model; the static routing facts match botocore.

Issue #9 (start-up under 0.3 s): the AWS app routes with static facts (`wire.ROUTING`,
`app.LAZY_SERVICES`) and loads a service's botocore model on its first request. These
tests keep those tables true to botocore's models and to each `build`'s handlers.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from botocore.loaders import Loader

from mqlite.protocols.aws.app import LAZY_SERVICES
from mqlite.protocols.aws.wire import (
    ROUTING,
    AwsService,
    Protocol,
    load_model_dict,
    query_model_dict,
)


@pytest.mark.parametrize("name", sorted(ROUTING))
def test_routing_table_matches_botocore_metadata(name: str) -> None:
    """Target prefix, signing name and endpoint prefix are botocore's (metadata)."""
    md = Loader().load_service_model(name, "service-2")["metadata"]
    facts = ROUTING[name]
    assert facts.target_prefix == md.get("targetPrefix")
    assert facts.endpoint_prefix == md["endpointPrefix"]
    assert facts.signing_name == (md.get("signingName") or md["endpointPrefix"])


@pytest.mark.parametrize("name", sorted(LAZY_SERVICES))
def test_lazy_query_actions_are_the_handlers_build_wires(name: str, mqlite_server: Any) -> None:
    """The action names used for query routing before a lazy service is built are
    exactly the handlers its `build` returns (none for json-only services)."""
    module = importlib.import_module(f"mqlite.protocols.aws.{name}")
    handlers = mqlite_server.call(lambda: set(module.build(mqlite_server.core, mqlite_server.settings).handlers))
    if ROUTING[name].target_prefix is None or name == "sqs":  # query-protocol services
        assert handlers == set(LAZY_SERVICES[name].query_actions)
    else:
        assert not LAZY_SERVICES[name].query_actions


def test_query_view_is_built_without_touching_the_cached_model() -> None:
    """The query view adds result wrappers and the overlay copy-on-write: botocore's
    cached model (shared with the json view) is left as shipped."""
    overlay = {"metadata": {"xmlNamespace": "urn:x"}, "shapes": {"QueueUrlList": {"member": {"locationName": "QueueUrl"}}}}
    view = query_model_dict("sqs", overlay)
    raw = load_model_dict("sqs")  # a copy of the cached model, after building the view
    assert view["operations"]["ListQueues"]["output"]["resultWrapper"] == "ListQueuesResult"
    assert "resultWrapper" not in raw["operations"]["ListQueues"]["output"]
    assert view["shapes"]["QueueUrlList"]["member"]["locationName"] == "QueueUrl"
    assert "locationName" not in raw["shapes"]["QueueUrlList"]["member"]
    assert raw["metadata"]["protocol"] == "json" and view["metadata"]["protocol"] == "query"
    assert view["shapes"]["SendMessageRequest"] is query_model_dict("sqs")["shapes"]["SendMessageRequest"]
    svc = AwsService.load("sqs", overlay)
    assert svc.operation("ListQueues", Protocol.QUERY).output_shape.serialization["resultWrapper"] == "ListQueuesResult"


def test_server_starts_without_loading_botocore_and_loads_a_model_on_first_request(tmp_path: Any) -> None:
    """Start-up imports neither botocore nor the lazy services; the first SQS request
    builds SQS (and only SQS) and is answered normally."""
    script = textwrap.dedent("""
        import asyncio, sys, urllib.request
        from mqlite.server import start_server
        from mqlite.settings import Settings

        async def main():
            server = await start_server(Settings(data_dir=None, http_port=0, kafka_port=None,
                                                 amqp_port=None, redis_port=None))
            try:
                print("botocore-at-start", "botocore" in sys.modules)
                print("sqs-at-start", "mqlite.protocols.aws.sqs" in sys.modules)
                print("kinesis-at-start", "mqlite.protocols.aws.kinesis" in sys.modules)
                url = f"http://127.0.0.1:{server.ports['http']}/"
                req = urllib.request.Request(url, data=b'{"QueueName": "q"}', headers={
                    "X-Amz-Target": "AmazonSQS.CreateQueue",
                    "Content-Type": "application/x-amz-json-1.0"})
                body = await asyncio.to_thread(lambda: urllib.request.urlopen(req).read())
                print("answer", body.decode())
                from mqlite.protocols.aws import kinesis, sqs
                print("loaded", sqs.service().loaded, kinesis._SERVICE is not None)
            finally:
                await server.stop()

        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, check=True).stdout
    assert "botocore-at-start False" in out
    assert "sqs-at-start False" in out and "kinesis-at-start False" in out
    assert '"QueueUrl":"http://127.0.0.1:' in out and "/000000000000/q" in out
    assert "loaded True False" in out
