"""AsyncVideoClient: the asyncio twin of VideoClient (grpc.aio), method for method."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import grpc
from google.api_core import gapic_v1, retry_async
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from . import _core, _retry
from .future import AsyncOperation


def default_retry() -> retry_async.AsyncRetry:
    return _retry.AsyncRetry(
        predicate=_core.RETRYABLE,
        initial=0.1,
        maximum=5.0,
        multiplier=2.0,
        timeout=60.0,
    )


class AsyncVideoClient:
    """A client of the video service for asyncio programs.

    Example::

        async with AsyncVideoClient("localhost:50051") as client:
            op = await client.create_video("My movie", "A plot")
            video = await op.result(timeout=60)
            async for each in client.list_videos():
                print(each.name)
    """

    def __init__(
        self,
        target: str = _core.DEFAULT_TARGET,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        channel: grpc.aio.Channel | None = None,
        token: str | None = None,
        timeout: float = _core.DEFAULT_TIMEOUT,
        retry: retry_async.AsyncRetry | None = None,
    ) -> None:
        if channel is None:
            _core.refuse_plaintext_token(target, token, credentials is not None)
        self._metadata = _core.auth_metadata(token)
        self._own_channel = channel is None
        self._channel = channel or _channel(target, credentials)
        self._wait_channel = channel or _channel(target, credentials, local_pool=True)
        self._timeout = timeout
        self._retry = retry or default_retry()
        videos = pb_grpc.VideoServiceStub(self._channel)
        operations = operations_pb2_grpc.OperationsStub(self._channel)
        waits = operations_pb2_grpc.OperationsStub(self._wait_channel)
        wrap = self._wrap
        self._create, self._get_video = wrap(videos.CreateVideo), wrap(videos.GetVideo)
        self._list_videos, self._delete = wrap(videos.ListVideos), wrap(videos.DeleteVideo)
        self._get_op, self._list_ops = (
            wrap(operations.GetOperation),
            wrap(operations.ListOperations),
        )
        self._cancel_op = wrap(operations.CancelOperation)
        self._delete_op = wrap(operations.DeleteOperation)
        self._wait_op = _core.with_metadata(
            gapic_v1.method_async.wrap_method(
                waits.WaitOperation, default_retry=self._retry, client_info=None
            ),
            self._metadata,
        )

    def _options(self, timeout: float | None) -> dict[str, Any]:
        return _core.call_options(self._timeout if timeout is None else timeout, self._retry)

    def _wrap(self, method: Any) -> Callable[..., Any]:
        return _core.with_metadata(
            gapic_v1.method_async.wrap_method(
                method, default_retry=self._retry, default_timeout=self._timeout, client_info=None
            ),
            self._metadata,
        )

    async def __aenter__(self) -> AsyncVideoClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channels this client made (not one it was given)."""
        if self._own_channel:
            await self._channel.close()
            await self._wait_channel.close()

    async def create_video(
        self,
        title: str,
        plot: str = "",
        *,
        video_id: str | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> AsyncOperation:
        """Start rendering a video. Example: `await (await c.create_video("T")).result()`"""
        request = _core.create_request(title, plot, video_id, request_id)
        return self._future(await self._create(request, **self._options(timeout)))

    async def get_video(self, video: str, *, timeout: float | None = None) -> pb.Video:
        request = pb.GetVideoRequest(name=_core.video_name(video))
        found: pb.Video = await self._get_video(request, **self._options(timeout))
        return found

    async def list_videos(
        self, *, page_size: int = 0, timeout: float | None = None
    ) -> AsyncIterator[pb.Video]:
        """Every video, oldest first. Example: `[v async for v in c.list_videos()]`"""
        token = ""
        while True:
            request = pb.ListVideosRequest(page_size=page_size, page_token=token)
            page = await self._list_videos(request, **self._options(timeout))
            for video in page.videos:
                yield video
            if not (token := page.next_page_token):
                return

    async def delete_video(
        self, video: str, *, request_id: str | None = None, timeout: float | None = None
    ) -> AsyncOperation:
        request = _core.delete_request(video, request_id)
        return self._future(await self._delete(request, **self._options(timeout)))

    async def operation(self, name: str, *, timeout: float | None = None) -> AsyncOperation:
        """The future of an operation started elsewhere."""
        return self._future(await self.get_operation(name, timeout=timeout))

    async def get_operation(
        self, name: str, *, timeout: float | None = None
    ) -> operations_pb2.Operation:
        request = operations_pb2.GetOperationRequest(name=_core.operation_name(name))
        found: operations_pb2.Operation = await self._get_op(request, **self._options(timeout))
        return found

    async def list_operations(
        self, filter: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> AsyncIterator[operations_pb2.Operation]:
        token = ""
        while True:
            request = operations_pb2.ListOperationsRequest(
                name="operations", filter=filter, page_size=page_size, page_token=token
            )
            page = await self._list_ops(request, **self._options(timeout))
            for op in page.operations:
                yield op
            if not (token := page.next_page_token):
                return

    async def wait_operation(
        self, name: str, *, timeout: float = _core.WAIT_SLICE, retry_for: float | None = None
    ) -> operations_pb2.Operation:
        """The operation once done, or as it stands after `timeout` seconds.

        Example: `(await client.wait_operation("operations/abc", timeout=10)).done`
        """
        return await self._wait_within(
            _core.operation_name(name), timeout, retry_for or self._timeout
        )

    async def _wait_within(
        self, name: str, hold: float, left: float | None
    ) -> operations_pb2.Operation:
        request = _core.wait_request(name, hold)
        found: operations_pb2.Operation = await self._wait_op(
            request, **_core.wait_options(hold, left, self._retry)
        )
        return found

    async def cancel_operation(self, name: str, *, timeout: float | None = None) -> None:
        request = operations_pb2.CancelOperationRequest(name=_core.operation_name(name))
        await self._cancel_op(request, **self._options(timeout))

    async def delete_operation(self, name: str, *, timeout: float | None = None) -> None:
        request = operations_pb2.DeleteOperationRequest(name=_core.operation_name(name))
        await self._delete_op(request, **self._options(timeout))

    def _future(self, proto: operations_pb2.Operation) -> AsyncOperation:
        kind: type[Message] = _core.result_type(proto)

        async def refresh(retry: Any = None) -> operations_pb2.Operation:
            return await self.get_operation(proto.name)

        async def cancel() -> None:
            await self.cancel_operation(proto.name)

        return AsyncOperation(
            proto,
            wait=self._wait_within,
            refresh=refresh,
            cancel=cancel,
            result_type=kind,
            metadata_type=pb.OperationMetadata,
        )


def _channel(
    target: str, credentials: grpc.ChannelCredentials | None, *, local_pool: bool = False
) -> grpc.aio.Channel:
    options = [*_core.RECONNECT, *([("grpc.use_local_subchannel_pool", 1)] if local_pool else [])]
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=options)
    return grpc.aio.insecure_channel(target, options=options)
