"""Service models: botocore's shipped JSON models, loaded once, in two protocol views.

`AwsService.load(name, query_overlay=None)` reads `<name>/<version>/service-2.json` through
botocore's public `Loader` and builds two `botocore.model.ServiceModel`s:

- `json_model`: the model exactly as shipped (used for the `json` protocol);
- `query_model`: the same model with every operation output given the query result
  wrapper (`<Op>Result`, unless modeled) and `query_overlay` deep-merged in. The overlay
  is data a front-end supplies to restore traits a service's current model lost when it
  moved from `query` to `json` (member `locationName`s, flattened names, the historical
  error codes); it is how the wire layer stays free of service knowledge.

`query_model_dict(...)` returns that patched dict with `protocol` set to `query`, so tests
can build a real botocore client that speaks `query` the way older SDKs did.
Invariant: loaded models are immutable and cached per (name, overlay identity).
Concurrency: none needed (built at mount time, read-only afterwards).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

_LOADER = Loader()


class Protocol(enum.Enum):
    JSON = "json"
    QUERY = "query"


def _deep_merge(into: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def load_model_dict(name: str) -> dict[str, Any]:
    """The botocore model of service `name` as a plain dict (a fresh deep copy)."""
    raw = _LOADER.load_service_model(name, "service-2")
    return copy.deepcopy(dict(raw))


def query_model_dict(name: str, query_overlay: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The service model as the `query` protocol sees it (result wrappers + overlay)."""
    model = load_model_dict(name)
    for op_name, op in model["operations"].items():
        out = op.get("output")
        if out is not None and "resultWrapper" not in out:
            out["resultWrapper"] = f"{op_name}Result"
    if query_overlay:
        _deep_merge(model, query_overlay)
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    return model


@dataclass(slots=True)
class AwsService:
    """One AWS service's models and the protocol facts the codec needs."""

    name: str
    json_model: ServiceModel
    query_model: ServiceModel
    _ops_json: dict[str, OperationModel] = field(default_factory=dict)
    _ops_query: dict[str, OperationModel] = field(default_factory=dict)
    _errors: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    @classmethod
    def load(cls, name: str, query_overlay: Mapping[str, Any] | None = None) -> AwsService:
        json_model = ServiceModel(load_model_dict(name), service_name=name)
        query_model = ServiceModel(query_model_dict(name, query_overlay), service_name=name)
        svc = cls(name, json_model, query_model)
        for op in json_model.operation_names:
            svc._ops_json[op] = json_model.operation_model(op)
            svc._ops_query[op] = query_model.operation_model(op)
        for shape in query_model.error_shapes:
            err = shape.metadata.get("error", {})
            svc._errors[shape.name] = (err.get("code", shape.name), err.get("httpStatusCode"))
        return svc

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.json_model.metadata

    @property
    def target_prefix(self) -> str | None:
        return self.json_model.metadata.get("targetPrefix")

    @property
    def json_version(self) -> str:
        return self.json_model.metadata.get("jsonVersion", "1.0")

    @property
    def api_version(self) -> str:
        return self.json_model.metadata["apiVersion"]

    @property
    def signing_name(self) -> str:
        md = self.json_model.metadata
        return md.get("signingName") or md.get("endpointPrefix") or self.name

    @property
    def query_compatible(self) -> bool:
        return "awsQueryCompatible" in self.json_model.metadata

    @property
    def native_protocol(self) -> Protocol:
        proto = self.json_model.metadata.get("protocol", "json")
        return Protocol.QUERY if proto == "query" else Protocol.JSON

    @property
    def xml_namespace(self) -> str:
        ns = self.json_model.metadata.get("xmlNamespace")
        if isinstance(ns, Mapping):
            ns = ns.get("uri")
        if ns:
            return str(ns)
        return f"http://{self.json_model.metadata.get('endpointPrefix', self.name)}.amazonaws.com/doc/{self.api_version}/"

    def has_operation(self, name: str) -> bool:
        return name in self._ops_json

    def operation(self, name: str, protocol: Protocol) -> OperationModel:
        table = self._ops_query if protocol is Protocol.QUERY else self._ops_json
        return table[name]

    def error_facts(self, code: str) -> tuple[str, int | None]:
        """(query error code, modeled HTTP status) for a modeled error name, else (code, None)."""
        return self._errors.get(code, (code, None))
