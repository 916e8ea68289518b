"""AsyncVideoClient: the asyncio twin of VideoClient (grpc.aio), method for method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from types import TracebackType

import grpc
from google.api_core import retry_async
from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from . import _core, _retry
from ._transport import AsyncTransport
from .future import AsyncOperation


class AsyncVideoClient(_core.BaseVideoClient[retry_async.AsyncRetry]):
    """A client of the video service for asyncio programs.

    Example::

        async with AsyncVideoClient("localhost:50051") as client:
            op = await client.create_video("My movie", "A plot")
            video = await op.result(timeout=60)
            async for each in client.list_videos():
                print(each.name)
    """

    _retry_kind = _retry.AsyncRetry
    _transport_kind = AsyncTransport
    _transport: AsyncTransport

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
        super().__init__(target, credentials, channel, token, timeout, retry)

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
        await self._transport.close()

    # --- videos ---

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
        call = self._build_create_video(title, plot, video_id, request_id, timeout)
        return self._future(await self._transport.invoke(call))

    async def get_video(self, video: str, *, timeout: float | None = None) -> pb.Video:
        """Example: `(await client.get_video("videos/my-movie")).title`"""
        return await self._transport.invoke(self._build_get_video(video, timeout))

    def list_videos(
        self, filter: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> AsyncIterator[pb.Video]:
        """Every video, oldest first; `filter` is AIP-160, e.g. `title = "My movie"`.

        Example: `[v async for v in c.list_videos()]`
        """
        page = partial(self._build_list_videos, filter, page_size, timeout)
        return self._transport.items(page, "videos")

    async def delete_video(
        self, video: str, *, request_id: str | None = None, timeout: float | None = None
    ) -> AsyncOperation:
        """Start deleting a video. Example: `await (await c.delete_video("my-movie")).result()`"""
        call = self._build_delete_video(video, request_id, timeout)
        return self._future(await self._transport.invoke(call))

    # --- operations ---

    async def operation(self, name: str, *, timeout: float | None = None) -> AsyncOperation:
        """The future of an operation started elsewhere."""
        return self._future(await self.get_operation(name, timeout=timeout))

    async def get_operation(
        self, name: str, *, timeout: float | None = None
    ) -> operations_pb2.Operation:
        return await self._transport.invoke(self._build_get_operation(name, timeout))

    def list_operations(
        self,
        filter: str = "",
        *,
        page_size: int = 0,
        timeout: float | None = None,
        order_by: str = "",
    ) -> AsyncIterator[operations_pb2.Operation]:
        """Operations, oldest first, or latest first with `order_by="create_time desc"`;
        `filter` is AIP-160, e.g. `done = false`."""
        page = partial(self._build_list_operations, filter, page_size, timeout, order_by)
        return self._transport.items(page, "operations")

    async def wait_operation(
        self, name: str, *, timeout: float = _core.WAIT_SLICE, retry_for: float | None = None
    ) -> operations_pb2.Operation:
        """The operation once done, or as it stands after `timeout` seconds.

        Example: `(await client.wait_operation("operations/abc", timeout=10)).done`
        """
        return await self._wait(name, timeout, retry_for or self._timeout)

    async def _wait(self, name: str, hold: float, left: float | None) -> operations_pb2.Operation:
        return await self._transport.invoke(self._build_wait_operation(name, hold, left))

    async def cancel_operation(self, name: str, *, timeout: float | None = None) -> None:
        await self._transport.invoke(self._build_cancel_operation(name, timeout))

    async def delete_operation(self, name: str, *, timeout: float | None = None) -> None:
        await self._transport.invoke(self._build_delete_operation(name, timeout))

    def _future(self, proto: operations_pb2.Operation) -> AsyncOperation:
        # refresh and cancel return coroutines, which AsyncOperation awaits.
        return AsyncOperation(
            proto,
            wait=self._wait,
            refresh=lambda retry=None: self.get_operation(proto.name),
            cancel=lambda: self.cancel_operation(proto.name),
            **_core.future_types(proto),
        )
