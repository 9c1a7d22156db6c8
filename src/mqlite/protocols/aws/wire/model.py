"""Service models: botocore's shipped JSON models, loaded lazily, in two protocol views.

`AwsService.load(name, query_overlay=None)` is cheap: it records the name and overlay.
The routing facts (target prefix, signing name, endpoint prefix) come from the static
`ROUTING` table (checked against botocore's models by a test), so mounting the AWS
front-end neither imports botocore nor parses a model. The models are built on first
use (the service's first request), reading `<name>/<version>/service-2.json` once
through botocore's public `Loader` (which caches it; nothing here mutates it):

- `json_model`: the model exactly as shipped (used for the `json` protocol);
- `query_model`: the same model with every operation output given the query result
  wrapper (`<Op>Result`, unless modeled) and `query_overlay` merged in. The overlay is
  data a front-end supplies to restore traits a service's current model lost when it
  moved from `query` to `json` (member `locationName`s, flattened names, the historical
  error codes); it is how the wire layer stays free of service knowledge. The view is
  built copy-on-write: shallow copies of just the dicts it changes, sharing the rest
  with the loader's cached model (no deep copy).

`query_model_dict(...)` returns that patched dict with `protocol` set to `query`, so tests
can build a real botocore client that speaks `query` the way older SDKs did.
Invariant: models, the overlay and the loader's cached dicts are never mutated.
Concurrency: built on first use on the server's loop (or any one thread), read-only after.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

_LOADER: Any = None


class Protocol(enum.Enum):
    JSON = "json"
    QUERY = "query"
    CBOR = "cbor"  # the json protocol's requests with CBOR bodies (Kinesis, `wire.cbor`)


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What routing needs before a service's model is loaded (botocore's metadata)."""

    target_prefix: str | None
    signing_name: str
    endpoint_prefix: str


# Checked against botocore's metadata by tests/protocols/aws/test_lazy_models.py.
ROUTING: dict[str, RoutingFacts] = {
    "sqs": RoutingFacts("AmazonSQS", "sqs", "sqs"),
    "sts": RoutingFacts(None, "sts", "sts"),
    "sns": RoutingFacts(None, "sns", "sns"),
    "kinesis": RoutingFacts("Kinesis_20131202", "kinesis", "kinesis"),
    "firehose": RoutingFacts("Firehose_20150804", "firehose", "firehose"),
    "events": RoutingFacts("AWSEvents", "events", "events"),
}


def _raw_model(name: str) -> Mapping[str, Any]:
    """botocore's model of `name`, parsed once per process (the loader caches it)."""
    global _LOADER
    if _LOADER is None:
        from botocore.loaders import Loader

        _LOADER = Loader()
    return _LOADER.load_service_model(name, "service-2")  # type: ignore[no-any-return]


def _merged(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `patch` merged in, copying only the dicts on the patched paths."""
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = _merged(current, value)
        else:
            out[key] = value
    return out


def load_model_dict(name: str) -> dict[str, Any]:
    """The botocore model of service `name` as a plain dict (a fresh deep copy: for
    callers that want to edit it; the server itself never copies models)."""
    return copy.deepcopy(dict(_raw_model(name)))


def query_model_dict(name: str, query_overlay: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The service model as the `query` protocol sees it (result wrappers + overlay).
    Shares unchanged parts with the cached model: treat it as read-only."""
    raw = _raw_model(name)
    operations: dict[str, Any] = {}
    for op_name, op in raw["operations"].items():
        out = op.get("output")
        if out is not None and "resultWrapper" not in out:
            op = {**op, "output": {**out, "resultWrapper": f"{op_name}Result"}}
        operations[op_name] = op
    model: dict[str, Any] = {**raw, "operations": operations}
    if query_overlay:
        model = _merged(model, query_overlay)
    model["metadata"] = {**model["metadata"], "protocol": "query", "protocols": ["query"]}
    return model


class AwsService:
    """One AWS service's models and the protocol facts the codec needs (lazy)."""

    __slots__ = (
        "_errors",
        "_json_model",
        "_op_names",
        "_ops_json",
        "_ops_query",
        "_overlay",
        "_query_model",
        "_routing",
        "name",
    )

    def __init__(self, name: str, query_overlay: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self._overlay = query_overlay
        self._routing = ROUTING.get(name)
        self._json_model: ServiceModel | None = None
        self._query_model: ServiceModel | None = None
        self._op_names: frozenset[str] | None = None
        self._ops_json: dict[str, OperationModel] = {}
        self._ops_query: dict[str, OperationModel] = {}
        self._errors: dict[str, tuple[str, int | None]] | None = None

    @classmethod
    def load(cls, name: str, query_overlay: Mapping[str, Any] | None = None) -> AwsService:
        """A service whose models are built on first use (see module docstring)."""
        return cls(name, query_overlay)

    def __repr__(self) -> str:
        return f"AwsService({self.name!r}, loaded={self._json_model is not None})"

    # -- models (built on first use) -----------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._json_model is not None

    @property
    def json_model(self) -> ServiceModel:
        if self._json_model is None:
            from botocore.model import ServiceModel

            self._json_model = ServiceModel(_raw_model(self.name), service_name=self.name)
        return self._json_model

    @property
    def query_model(self) -> ServiceModel:
        if self._query_model is None:
            from botocore.model import ServiceModel

            self._query_model = ServiceModel(
                query_model_dict(self.name, self._overlay), service_name=self.name)
        return self._query_model

    # -- facts --------------------------------------------------------------------------
    @property
    def metadata(self) -> Mapping[str, Any]:
        metadata: Mapping[str, Any] = self.json_model.metadata
        return metadata

    @property
    def target_prefix(self) -> str | None:
        if self._routing is not None:
            return self._routing.target_prefix
        return self.metadata.get("targetPrefix")

    @property
    def endpoint_prefix(self) -> str:
        if self._routing is not None:
            return self._routing.endpoint_prefix
        return str(self.metadata.get("endpointPrefix", self.name))

    @property
    def signing_name(self) -> str:
        if self._routing is not None:
            return self._routing.signing_name
        md = self.metadata
        return md.get("signingName") or md.get("endpointPrefix") or self.name

    @property
    def json_version(self) -> str:
        return str(self.metadata.get("jsonVersion", "1.0"))

    @property
    def api_version(self) -> str:
        return str(self.metadata["apiVersion"])

    @property
    def query_compatible(self) -> bool:
        return "awsQueryCompatible" in self.metadata

    @property
    def native_protocol(self) -> Protocol:
        proto = self.metadata.get("protocol", "json")
        return Protocol.QUERY if proto == "query" else Protocol.JSON

    @property
    def xml_namespace(self) -> str:
        ns = self.metadata.get("xmlNamespace")
        if isinstance(ns, Mapping):
            ns = ns.get("uri")
        if ns:
            return str(ns)
        return f"http://{self.endpoint_prefix}.amazonaws.com/doc/{self.api_version}/"

    # -- operations ---------------------------------------------------------------------
    def has_operation(self, name: str) -> bool:
        if self._op_names is None:
            self._op_names = frozenset(self.json_model.operation_names)
        return name in self._op_names

    def operation(self, name: str, protocol: Protocol) -> OperationModel:
        table = self._ops_query if protocol is Protocol.QUERY else self._ops_json
        op = table.get(name)
        if op is None:
            model = self.query_model if protocol is Protocol.QUERY else self.json_model
            op = table[name] = model.operation_model(name)
        return op

    def error_facts(self, code: str) -> tuple[str, int | None]:
        """(query error code, modeled HTTP status) for a modeled error name, else (code, None)."""
        if self._errors is None:
            errors: dict[str, tuple[str, int | None]] = {}
            for shape in self.query_model.error_shapes:
                err = shape.metadata.get("error", {})
                errors[shape.name] = (err.get("code", shape.name), err.get("httpStatusCode"))
            self._errors = errors
        return self._errors.get(code, (code, None))
