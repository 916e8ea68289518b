"""Every method's request, made as google-cloud-* clients make theirs: from
`request=` (the message, or a dict of its fields) or from the flattened
fields the proto's `google.api.method_signature` names, never both.

Also the per-call settings GAPIC methods take (`retry=`, `timeout=`,
`metadata=`), turned into what a Call carries: a client's defaults where
the caller said `DEFAULT`, and every call bounded by a deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from google.api_core import gapic_v1
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2 as pb

M = TypeVar("M", bound=Message)
Metadata = tuple[tuple[str, str | bytes], ...]
# What GAPIC's signatures take: a Retry (AsyncRetry), None for no retries,
# or DEFAULT for the client's policy; a timeout in seconds, or DEFAULT.
DEFAULT = gapic_v1.method.DEFAULT
MethodDefault = gapic_v1.method._MethodDefault  # GAPIC's own annotation names it so
MetadataArg = Sequence[tuple[str, str | bytes]]

# GAPIC's wording, so a caller who knows those clients recognises it.
BOTH = (
    "If the `request` argument is set, then none of the individual field arguments should be set."
)


def make(kind: type[M], request: M | Mapping[str, Any] | None, **flattened: Any) -> M:
    """A fresh `kind` from `request` or from the flattened fields (None =
    not given); a copy, so that filling it in never changes the caller's."""
    given = {field: value for field, value in flattened.items() if value is not None}
    if request is not None and given:
        raise ValueError(BOTH)
    message = kind()
    if isinstance(request, kind):
        message.CopyFrom(request)
    elif isinstance(request, Mapping):
        message.MergeFrom(kind(**request))
    elif request is not None:
        raise TypeError(f"request must be a {kind.DESCRIPTOR.full_name} or a dict, not {request!r}")
    if given:
        message.MergeFrom(kind(**given))
    return message


Idempotent = TypeVar("Idempotent", pb.CreateVideoRequest, pb.DeleteVideoRequest)


def with_request_id(message: Idempotent) -> Idempotent:
    """Fill request_id once per logical call, so every retry of it (and a
    lost answer's repeat) is answered with the first call's operation."""
    if not message.request_id:
        message.request_id = str(uuid.uuid4())
    return message


def seconds(timeout: float | MethodDefault | None, default: float) -> float:
    """A call's deadline: the caller's, else the client's. Unlike GAPIC, None
    is not "wait forever": every call of ours has a deadline."""
    if timeout is None or isinstance(timeout, MethodDefault):
        return default
    return float(timeout)


def chosen_retry(given: Any, default: Any, deadline: float) -> Any:
    """The caller's Retry as given; None for no retries; else the client's,
    bounded by the call's deadline (retries included)."""
    if isinstance(given, MethodDefault):
        return default.with_timeout(deadline)
    return given


def metadata(own: Metadata, extra: MetadataArg) -> Metadata:
    """The client's metadata (its token), then the call's."""
    return (*own, *((str(key), value) for key, value in extra))


def video_name(video: str) -> str:
    """Accept `videos/ID` or a bare `ID`."""
    return video if video.startswith("videos/") else f"videos/{video}"


def operation_name(operation: str) -> str:
    """Accept `operations/ID` or a bare `ID`."""
    return operation if operation.startswith("operations/") else f"operations/{operation}"
