"""The HTTP bindings of the API, read as a transcoder reads them: the
`google.api.http` options in the generated descriptors, and the `http.rules`
of the service config YAML, which win for the methods they name (that is how
the google.longrunning.Operations mixin gets its routes, `:wait` included).

Nothing here names a route: add an annotation to a .proto, or a rule to the
YAML, and the gateway serves it.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from google.api import annotations_pb2, http_pb2
from google.longrunning import operations_pb2
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2

from .template import PathTemplate

SERVICE_CONFIG = ("longreel.video.v1", "longreel_v1.yaml")  # package data of the client
# The descriptors the transcoder serves, registered by importing them.
SERVED = (video_service_pb2.DESCRIPTOR, operations_pb2.DESCRIPTOR)


class RuleError(ValueError):
    """A service config or annotation the transcoder cannot serve."""


@dataclass(frozen=True)
class Binding:
    """One HTTP method and path template bound to one RPC."""

    http_method: str  # upper case
    template: PathTemplate
    body: str  # "", "*" or a top-level field of the request
    response_body: str  # "" or a top-level field of the response
    method: MethodDescriptor

    @property
    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.input_type)

    @property
    def streams(self) -> bool:
        return bool(self.method.server_streaming)


def service_config() -> dict[str, Any]:
    """The shipped google.api.Service YAML, parsed."""
    package, name = SERVICE_CONFIG
    text = importlib.resources.files(package).joinpath(name).read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    if not isinstance(config, dict) or config.get("type") != "google.api.Service":
        raise RuleError(f"{name} is not a google.api.Service config")
    return config


def bindings(config: dict[str, Any] | None = None) -> list[Binding]:
    """Every binding of the config's APIs, most specific templates first, as
    a transcoder tries them (`/v1/{name=operations}` before `/v1/{name=operations/**}`)."""
    config = service_config() if config is None else config
    pool = descriptor_pool.Default()  # holds what the imports above registered
    overrides = {rule.selector: rule for rule in _yaml_rules(config)}
    found: list[Binding] = []
    for api in config.get("apis", []):
        service = pool.FindServiceByName(api["name"])
        for method in service.methods:
            rule = overrides.get(method.full_name) or _annotation(method)
            if rule is not None:
                found.extend(_bindings(rule, method))
    unknown = set(overrides) - {b.method.full_name for b in found}
    if unknown:
        raise RuleError(f"http rules for methods of no listed API: {sorted(unknown)}")
    return sorted(found, key=lambda b: b.template.wildcards)


def _yaml_rules(config: dict[str, Any]) -> Iterator[http_pb2.HttpRule]:
    for raw in (config.get("http") or {}).get("rules", []):
        try:
            yield json_format.ParseDict(raw, http_pb2.HttpRule())
        except json_format.ParseError as exc:
            raise RuleError(f"http rule {raw!r}: {exc}") from None


def _annotation(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def _bindings(rule: http_pb2.HttpRule, method: MethodDescriptor) -> Iterable[Binding]:
    for each in (rule, *rule.additional_bindings):
        kind = each.WhichOneof("pattern")
        if kind is None or kind == "custom":
            raise RuleError(f"{method.full_name}: only get, put, post, delete and patch are served")
        _check_field(each.body, method.input_type, method.full_name)
        _check_field(each.response_body, method.output_type, method.full_name)
        yield Binding(
            kind.upper(),
            PathTemplate.parse(getattr(each, kind)),
            each.body,
            each.response_body,
            method,
        )


def _check_field(name: str, message: Any, rpc: str) -> None:
    if name not in ("", "*") and name not in message.fields_by_name:
        raise RuleError(f"{rpc}: {message.full_name} has no field {name!r}")
