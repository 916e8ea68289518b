"""What the sync and async clients share, without I/O: settings, defaults,
the request of every call, and the retry policy.

As in httpx, `BaseVideoClient` holds everything but the sending: each
`_build_<method>` turns a public method's arguments into a `Call` (which stub
method, the request, its retry, timeout and metadata). VideoClient (sync.py)
and AsyncVideoClient (aio.py) hand Calls to their transport (_transport.py),
which holds the only differences between grpc and grpc.aio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import grpc
from google.api_core import exceptions, retry, retry_async
from google.api_core import timeout as api_timeout
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from longreel.common.net import is_loopback
from longreel.video.v1 import video_service_pb2 as pb

from . import _options, _requests, _retry
from ._requests import operation_name as operation_name
from ._requests import video_name as video_name

DEFAULT_TARGET = _options.DEFAULT_TARGET
DEFAULT_TIMEOUT = 30.0  # seconds for a call, its retries included
WAIT_SLICE = 30.0  # seconds one WaitOperation call holds before it is re-issued
WAIT_SLACK = 5.0  # seconds a WaitOperation's deadline exceeds the wait it asks for
DEFAULT_RESULT_TIMEOUT = 900.0  # seconds result() waits when not told (as api-core)
# gRPC's reconnect backoff grows to 120 s by default; a restarted server
# should be found again within seconds.
RECONNECT = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 2_000)]

# Retry what is safe to retry: UNAVAILABLE means the call did not reach a
# server or its answer was lost; RESOURCE_EXHAUSTED with RetryInfo means the
# server shed it before any work; creates and deletes carry a request_id, so a
# repeat is answered with the first call's operation (AIP-155).
RETRYABLE = _retry.unavailable_or_shed

AnyRetry = TypeVar("AnyRetry", retry.Retry, retry_async.AsyncRetry)  # a sync or async policy
Response = TypeVar("Response")
Metadata = _requests.Metadata
# A call's (retry, timeout, metadata), as the public method was given them.
Settings = tuple[Any, Any, _requests.MetadataArg]
# google.longrunning's requests, as a message or a dict of its fields.
OperationRequest = Message | Mapping[str, Any]


def default_retry(kind: type[AnyRetry]) -> AnyRetry:
    """Exponential backoff with jitter on UNAVAILABLE, and on RESOURCE_EXHAUSTED
    with RetryInfo at least its delay, for at most a minute; `kind` is
    _retry.Retry for the sync client, _retry.AsyncRetry for the async one."""
    return kind(predicate=RETRYABLE, initial=0.1, maximum=5.0, multiplier=2.0, timeout=60.0)


# A long poll only reads, so it may also be repeated after DEADLINE_EXCEEDED.
def WAIT_RETRYABLE(exc: Exception) -> bool:  # a predicate, named as api-core's
    return RETRYABLE(exc) or isinstance(exc, exceptions.DeadlineExceeded)


@dataclass(frozen=True, slots=True)
class Call(Generic[Response]):
    """One RPC as a client describes it, for a transport to send; `Response`
    is what the stub method answers."""

    # "waits" is the Operations stub on the long-poll channel.
    stub: Literal["videos", "operations", "waits"]
    method: str  # the stub's method, e.g. "CreateVideo"
    request: Message
    retry: Any  # an api-core Retry or AsyncRetry, bounded by the call's time
    timeout: float | api_timeout.ConstantTimeout  # seconds, retries included
    metadata: Metadata = ()


class BaseVideoClient(Generic[AnyRetry]):
    """Settings and the Call of every method. A subclass names its retry
    kind and its transport (which it makes from target, credentials and
    channel), and sends the Calls.

    Each `_build_<method>` takes what the public method takes, as GAPIC's
    do: `request` (a message or a dict) or the flattened fields, then the
    call's retry, timeout and metadata."""

    _retry_kind: type[AnyRetry]
    _transport_kind: Callable[[str, grpc.ChannelCredentials | None, Any], Any]

    def __init__(
        self,
        target: str | None,
        client_options: Any,
        credentials: Any,
        channel: object | None,
        token: str | None,
        timeout: float,
        retry: AnyRetry | None,
    ) -> None:
        where = _options.resolve(target, client_options, credentials)
        if channel is None:  # a given channel's security is its maker's
            refuse_plaintext_token(where.target, token, where.credentials is not None)
        self._metadata: Metadata = auth_metadata(token)
        self._timeout = timeout
        self._retry: AnyRetry = retry or default_retry(self._retry_kind)
        self._transport = self._transport_kind(where.target, where.credentials, channel)

    def _call(
        self,
        stub: Literal["videos", "operations"],
        method: str,
        request: Message,
        settings: Settings,
    ) -> Call[Any]:
        """A short call: its timeout (else the client's) bounds it, retries included."""
        retry, timeout, metadata = settings
        seconds = _requests.seconds(timeout, self._timeout)
        policy = _requests.chosen_retry(retry, self._retry, seconds)
        extra = _requests.metadata(self._metadata, metadata)
        return Call(stub, method, request, policy, seconds, extra)

    def _build_create_video(
        self,
        request: pb.CreateVideoRequest | Mapping[str, Any] | None,
        video: pb.Video | Mapping[str, Any] | None,
        video_id: str | None,
        settings: Settings,
    ) -> Call[operations_pb2.Operation]:
        made = _requests.make(pb.CreateVideoRequest, request, video=video, video_id=video_id)
        return self._call("videos", "CreateVideo", _requests.with_request_id(made), settings)

    def _build_get_video(
        self, request: pb.GetVideoRequest | Mapping[str, Any] | None, name: str | None,
        settings: Settings,
    ) -> Call[pb.Video]:  # fmt: skip
        made = _requests.make(pb.GetVideoRequest, request, name=_video(name))
        return self._call("videos", "GetVideo", made, settings)

    def _build_list_videos(
        self, request: pb.ListVideosRequest | Mapping[str, Any] | None, settings: Settings
    ) -> Call[pb.ListVideosResponse]:
        made = _requests.make(pb.ListVideosRequest, request)
        return self._call("videos", "ListVideos", made, settings)

    def _build_delete_video(
        self, request: pb.DeleteVideoRequest | Mapping[str, Any] | None, name: str | None,
        settings: Settings,
    ) -> Call[operations_pb2.Operation]:  # fmt: skip
        made = _requests.make(pb.DeleteVideoRequest, request, name=_video(name))
        return self._call("videos", "DeleteVideo", _requests.with_request_id(made), settings)

    def _build_get_operation(
        self, request: OperationRequest | None, name: str | None, settings: Settings
    ) -> Call[operations_pb2.Operation]:
        made = _requests.make(operations_pb2.GetOperationRequest, request, name=_operation(name))
        return self._call("operations", "GetOperation", made, settings)

    def _build_list_operations(
        self, request: OperationRequest | None, name: str | None, filter: str | None,
        settings: Settings,
    ) -> Call[operations_pb2.ListOperationsResponse]:  # fmt: skip
        kind = operations_pb2.ListOperationsRequest
        made = _requests.make(kind, request, name=name, filter=filter)
        made.name = made.name or "operations"  # the collection, as google.longrunning asks
        return self._call("operations", "ListOperations", made, settings)

    def _build_wait_operation(
        self, request: OperationRequest | None, name: str | None, settings: Settings
    ) -> Call[operations_pb2.Operation]:
        """A WaitOperation held for the request's `timeout`, else for the
        call's; its deadline is the hold plus some slack (unless both were
        given), so the answer is the operation, not DEADLINE_EXCEEDED. It
        only reads: retried after DEADLINE_EXCEEDED too, for the client's timeout."""
        kind = operations_pb2.WaitOperationRequest
        made = _requests.make(kind, request, name=_operation(name))
        retry, timeout, metadata = settings
        seconds = _requests.seconds(timeout, self._timeout)
        held = made.HasField("timeout")
        if not held:
            made.timeout.FromMilliseconds(int(seconds * 1000))
        explicit = held and not isinstance(timeout, _requests.MethodDefault) and timeout is not None
        limit = seconds if explicit else made.timeout.ToMilliseconds() / 1000 + WAIT_SLACK
        default = self._retry.with_predicate(WAIT_RETRYABLE)
        policy = _requests.chosen_retry(retry, default, self._timeout)
        extra = _requests.metadata(self._metadata, metadata)
        return Call(
            "waits", "WaitOperation", made, policy, api_timeout.ConstantTimeout(limit), extra
        )

    def _build_wait(
        self, name: str, hold: float, left: float | None, metadata: _requests.MetadataArg = ()
    ) -> Call[operations_pb2.Operation]:
        """The futures' WaitOperation: held `hold` seconds, retried while the
        caller has time (`left` seconds, None for no limit), with the
        metadata of the call that started the operation."""
        request = operations_pb2.WaitOperationRequest(name=operation_name(name))
        request.timeout.FromMilliseconds(max(0, int(hold * 1000)))
        retry = self._retry.with_predicate(WAIT_RETRYABLE).with_timeout(left)
        deadline = api_timeout.ConstantTimeout(hold + WAIT_SLACK)
        extra = _requests.metadata(self._metadata, metadata)
        return Call("waits", "WaitOperation", request, retry, deadline, extra)

    def _build_cancel_operation(
        self, request: OperationRequest | None, name: str | None, settings: Settings
    ) -> Call[Any]:
        kind = operations_pb2.CancelOperationRequest
        made = _requests.make(kind, request, name=_operation(name))
        return self._call("operations", "CancelOperation", made, settings)

    def _build_delete_operation(
        self, request: OperationRequest | None, name: str | None, settings: Settings
    ) -> Call[Any]:
        kind = operations_pb2.DeleteOperationRequest
        made = _requests.make(kind, request, name=_operation(name))
        return self._call("operations", "DeleteOperation", made, settings)


def _video(name: str | None) -> str | None:
    return None if name is None else video_name(name)


def _operation(name: str | None) -> str | None:
    return None if name is None else operation_name(name)


def future_types(proto: operations_pb2.Operation) -> dict[str, type[Message]]:
    """What a done operation of ours holds (a Video for creates, Empty for
    deletes) and its metadata: the types either future unpacks."""
    metadata = pb.OperationMetadata()
    proto.metadata.Unpack(metadata)
    result_type = empty_pb2.Empty if metadata.verb == "delete" else pb.Video
    return {"result_type": result_type, "metadata_type": pb.OperationMetadata}


def auth_metadata(token: str | None) -> Metadata:
    """What each call carries for a server that authenticates its callers."""
    return () if not token else (("authorization", f"Bearer {token}"),)


def refuse_plaintext_token(target: str, token: str | None, secure: bool) -> None:
    """A bearer token goes in plaintext to loopback only: elsewhere anyone on
    the path could read it and act as its owner."""
    if not token or secure:
        return
    if is_loopback(target):
        return
    raise ValueError(f"refusing to send a token in plaintext to {target}: use TLS (credentials)")


def tls_credentials(
    ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials:
    """TLS towards the server: trust `ca` (else the system's roots); present
    `cert`/`key` where the server asks for a client certificate."""
    if (cert is None) != (key is None):
        raise ValueError("a client certificate needs both cert and key")
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes() if ca else None,
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


def channel_options(*, long_polls: bool) -> list[tuple[str, int]]:
    """Reconnect quickly; a long-poll channel keeps a subchannel of its own,
    so held waits never queue short calls."""
    return [*RECONNECT, *([("grpc.use_local_subchannel_pool", 1)] if long_polls else [])]
