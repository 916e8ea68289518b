"""What the sync and async clients share: names, defaults, requests, result types.

No I/O here; sync.py and aio.py each wrap the generated stubs with
google-api-core's retry, timeout and error conversion, the way Google's own
generated clients do.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.api_core import exceptions, retry
from google.api_core import timeout as api_timeout
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from longreel.common.net import is_loopback
from longreel.video.v1 import video_service_pb2 as pb

from . import _retry

DEFAULT_TARGET = "localhost:50051"
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


def default_retry() -> retry.Retry:
    """Exponential backoff with jitter on UNAVAILABLE, and on RESOURCE_EXHAUSTED
    with RetryInfo at least its delay, for at most a minute."""
    return _retry.Retry(predicate=RETRYABLE, initial=0.1, maximum=5.0, multiplier=2.0, timeout=60.0)


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """What each call carries for a server that authenticates its callers."""
    return () if not token else (("authorization", f"Bearer {token}"),)


def with_metadata(
    call: Callable[..., Any], metadata: tuple[tuple[str, str], ...]
) -> Callable[..., Any]:
    return functools.partial(call, metadata=metadata) if metadata else call


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


def video_name(video: str) -> str:
    """Accept `videos/ID` or a bare `ID`."""
    return video if video.startswith("videos/") else f"videos/{video}"


def operation_name(operation: str) -> str:
    """Accept `operations/ID` or a bare `ID`."""
    return operation if operation.startswith("operations/") else f"operations/{operation}"


def new_request_id() -> str:
    """One per logical call, reused by every retry of it."""
    return str(uuid.uuid4())


def create_request(
    title: str, plot: str, video_id: str | None, request_id: str | None
) -> pb.CreateVideoRequest:
    return pb.CreateVideoRequest(
        video=pb.Video(title=title, plot=plot),
        video_id=video_id or "",
        request_id=request_id or new_request_id(),
    )


def delete_request(video: str, request_id: str | None) -> pb.DeleteVideoRequest:
    return pb.DeleteVideoRequest(name=video_name(video), request_id=request_id or new_request_id())


def result_type(operation: operations_pb2.Operation) -> type[Message]:
    """What a done operation of ours holds: a Video for creates, Empty for deletes."""
    metadata = pb.OperationMetadata()
    operation.metadata.Unpack(metadata)
    return empty_pb2.Empty if metadata.verb == "delete" else pb.Video


def wait_request(name: str, seconds: float) -> operations_pb2.WaitOperationRequest:
    request = operations_pb2.WaitOperationRequest(name=name)
    request.timeout.FromMilliseconds(max(0, int(seconds * 1000)))
    return request


# A long poll only reads, so it may also be repeated after DEADLINE_EXCEEDED.
def WAIT_RETRYABLE(exc: Exception) -> bool:  # a predicate, named as api-core's
    return RETRYABLE(exc) or isinstance(exc, exceptions.DeadlineExceeded)


def call_options(seconds: float, policy: Any) -> dict[str, Any]:
    """timeout and retry for one call: `seconds` bounds it, retries included."""
    return {"timeout": seconds, "retry": policy.with_timeout(seconds)}


def wait_options(hold: float, left: float | None, policy: Any) -> dict[str, Any]:
    """A WaitOperation held `hold` seconds, retried while the caller has time (`left`)."""
    return {
        "timeout": api_timeout.ConstantTimeout(hold + WAIT_SLACK),
        "retry": policy.with_predicate(WAIT_RETRYABLE).with_timeout(left),
    }
