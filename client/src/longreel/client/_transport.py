"""The only differences between the sync and async clients: grpc or grpc.aio
channels, api-core's sync or async method wrappers (retry, timeout, and
grpc.RpcError turned into api-core exceptions)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar, cast

import grpc
import grpc.aio
from google.api_core import gapic_v1
from google.longrunning import operations_pb2_grpc

from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ._core import Call, channel_options

Response = TypeVar("Response")


class _Channels:
    """A short-call channel and a long-poll one (the same, if one was given),
    a stub on each, and each method wrapped once by api-core."""

    grpc_module: ModuleType  # grpc or grpc.aio: both name their channels alike
    wrap_method: Any  # api-core's gapic_v1 wrap_method, sync or async

    def __init__(
        self, target: str, credentials: grpc.ChannelCredentials | None, channel: Any
    ) -> None:
        self._own_channels = channel is None
        self._channel = channel or self._open(target, credentials, long_polls=False)
        self._wait_channel = channel or self._open(target, credentials, long_polls=True)
        self._stubs = {
            "videos": pb_grpc.VideoServiceStub(self._channel),
            "operations": operations_pb2_grpc.OperationsStub(self._channel),
            "waits": operations_pb2_grpc.OperationsStub(self._wait_channel),
        }
        self._wrapped: dict[tuple[str, str], Callable[..., Any]] = {}

    def _open(
        self, target: str, credentials: grpc.ChannelCredentials | None, *, long_polls: bool
    ) -> Any:
        options = channel_options(long_polls=long_polls)
        if credentials is not None:
            return self.grpc_module.secure_channel(target, credentials, options=options)
        return self.grpc_module.insecure_channel(target, options=options)

    def _send(self, call: Call[Any]) -> Any:
        """Start the call (its answer, or an awaitable of it, for grpc.aio)."""
        key = (call.stub, call.method)
        if key not in self._wrapped:
            method = getattr(self._stubs[call.stub], call.method)
            self._wrapped[key] = self.wrap_method(method, client_info=None)
        method = self._wrapped[key]
        return method(call.request, retry=call.retry, timeout=call.timeout, metadata=call.metadata)


class Transport(_Channels):
    """Blocking calls on grpc channels."""

    grpc_module = grpc
    wrap_method = staticmethod(gapic_v1.method.wrap_method)

    def invoke(self, call: Call[Response]) -> Response:
        return cast(Response, self._send(call))

    def close(self) -> None:
        if self._own_channels:
            self._channel.close()
            self._wait_channel.close()


class AsyncTransport(_Channels):
    """Awaitable calls on grpc.aio channels."""

    grpc_module = grpc.aio
    wrap_method = staticmethod(gapic_v1.method_async.wrap_method)

    async def invoke(self, call: Call[Response]) -> Response:
        return cast(Response, await self._send(call))

    async def close(self) -> None:
        if self._own_channels:
            await self._channel.close()
            await self._wait_channel.close()
