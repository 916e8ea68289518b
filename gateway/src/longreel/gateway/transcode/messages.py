"""HTTP request → gRPC request message, and messages → proto3 JSON.

The request is built as google/api/http.proto says: path variables fill
their fields, the body fills the `body` field (or, for `*`, the whole
request), and query parameters fill what is left, named by a field path
in proto or JSON names (`pageSize` or `page_size`, `a.b`), repeated fields by
repeating the parameter. Everything then goes through protobuf's own JSON
parser, strictly: an unknown field is a 400, not silently dropped.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from starlette.requests import Request

from .. import bodies
from ..errors import HttpError, bad_request
from .rules import Binding

# Google's system parameters (cloud.google.com/apis/docs/system-parameters):
# about the call, not the request message. google-api-core's REST transports
# send `$alt=json;enum-encoding=int` on every call.
SYSTEM_PARAMETERS = frozenset(
    [
        "alt",
        "key",
        "fields",
        "prettyPrint",
        "callback",
        "quotaUser",
        "access_token",
        "upload_protocol",
        "uploadType",
    ]
)
# Well-known messages whose JSON is a string, so a query parameter may set them.
STRING_MESSAGES = frozenset(
    {"google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.FieldMask"}
)


def enum_integers(request: Request) -> bool:
    """Whether the caller asked for enums as numbers (`$alt=json;enum-encoding=int`)."""
    alt = request.query_params.get("$alt") or request.query_params.get("alt") or ""
    return "enum-encoding=int" in alt.replace(" ", "").split(";")


async def request_message(request: Request, binding: Binding, captured: dict[str, str]) -> Message:
    """The gRPC request for an HTTP request that matched binding."""
    descriptor = binding.method.input_type
    fields: dict[str, Any] = {}
    if binding.body:
        body = await _json_body(request)
        if binding.body == "*":
            fields = body
        else:
            fields[binding.body] = body
    bound = {binding.body} if binding.body not in ("", "*") else set()
    for path, value in captured.items():
        _put(fields, descriptor, path, value, bound=set(), overwrite=True)  # the path wins
        bound.add(path)
    for key, value in _query(request, binding):
        _put(fields, descriptor, key, value, bound)
    message = binding.request_class()
    try:
        json_format.ParseDict(fields, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        text = str(exc).split("\n")[0]
        raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, text, "INVALID_REQUEST") from None
    return message


def to_json(message: Message, enum_ints: bool = False) -> dict[str, Any]:
    """proto3 JSON: lowerCamelCase names, `@type` in Any, int64 as strings."""
    found: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=enum_ints)
    return found


def response_part(message: Message, binding: Binding) -> Message | Any:
    """The response, or its `response_body` field when the binding names one."""
    return getattr(message, binding.response_body) if binding.response_body else message


async def _json_body(request: Request) -> Any:
    """The body as JSON; an empty or absent one is `{}` (a `:cancel` without a
    body, `curl -X POST` sending no Content-Length), as ESPv2 takes it."""
    return await bodies.json_object(request, empty_is_object=True)


def _query(request: Request, binding: Binding) -> list[tuple[str, str]]:
    pairs = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key.removeprefix("$") not in SYSTEM_PARAMETERS
    ]
    if binding.body == "*" and pairs:
        # http.proto: with body "*", every field not in the path is in the body.
        raise bad_request([(key, "goes in the body here, not the query") for key, _ in pairs])
    return pairs


def _put(
    fields: dict[str, Any],
    descriptor: Descriptor,
    path: str,
    value: str,
    bound: set[str],
    overwrite: bool = False,
) -> None:
    """Set the field at a dotted path (proto or JSON names) to a query or path value."""
    names = path.split(".")
    target = fields
    proto_path = []
    for depth, name in enumerate(names):
        field = _field(descriptor, name, path)
        proto_path.append(field.name)
        if ".".join(proto_path) in bound:
            raise bad_request([(path, "is set by the path or the body already")])
        if field.json_name != field.name and field.json_name in target:
            # One spelling per field, the proto's, so ParseDict sees any clash.
            target.setdefault(field.name, target.pop(field.json_name))
        if depth == len(names) - 1:
            if overwrite:
                target.pop(field.name, None)
            _set_leaf(target, field, path, value)
            return
        if field.type != FieldDescriptor.TYPE_MESSAGE or _repeated(field):
            raise bad_request([(path, f"{field.name} is not a message field")])
        target = target.setdefault(field.name, {})
        if not isinstance(target, dict):  # the body gave it as something else
            raise bad_request([(path, f"{field.name} must be a JSON object")])
        descriptor = _message_type(field)


def _field(descriptor: Descriptor, name: str, path: str) -> FieldDescriptor:
    for field in descriptor.fields:
        if name in (field.name, field.json_name):
            return field
    raise bad_request([(path, f"is not a field of {descriptor.full_name}")])


def _set_leaf(target: dict[str, Any], field: FieldDescriptor, path: str, value: str) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE and (
        _message_type(field).full_name not in STRING_MESSAGES or _is_map(field)
    ):
        raise bad_request([(path, "is a message: set its fields, or send it in a body")])
    converted: Any = value
    if field.type == FieldDescriptor.TYPE_BOOL:
        if value not in ("true", "false"):
            raise bad_request([(path, "must be true or false")])
        converted = value == "true"
    if _repeated(field):
        target.setdefault(field.name, []).append(converted)
    elif field.name in target:
        raise bad_request([(path, "is given more than once")])
    else:
        target[field.name] = converted


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_map(field: FieldDescriptor) -> bool:
    return bool(_repeated(field) and _message_type(field).GetOptions().map_entry)


def _message_type(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None  # only asked of message fields
    return field.message_type
