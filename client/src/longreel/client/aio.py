"""AsyncVideoClient: the asyncio twin of VideoClient (grpc.aio), method for
method, as GAPIC's async clients are to their sync ones."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import grpc
from google.api_core import client_options as client_options_lib
from google.api_core import retry_async
from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from . import _core, _retry
from ._requests import DEFAULT, MetadataArg, MethodDefault
from ._transport import AsyncTransport
from .future import AsyncOperation
from .pagers import ListOperationsAsyncPager, ListVideosAsyncPager


class AsyncVideoClient(_core.BaseVideoClient[retry_async.AsyncRetry]):
    """A client of the video service for asyncio programs.

    Example::

        async with AsyncVideoClient("localhost:50051") as client:
            op = await client.create_video(video=Video(title="My movie", plot="A plot"))
            video = await op.result(timeout=60)
            async for each in await client.list_videos():
                print(each.name, each.title)

    As VideoClient's, every method takes `request=` (the request message
    or a dict) or the flattened fields of the proto's method_signature (not
    both: ValueError), and keyword-only `retry=` (a Retry, None for no
    retries, DEFAULT for the client's), `timeout=` (seconds, retries
    included; DEFAULT for the client's) and `metadata=` (pairs added to the
    client's own).

    Where: `target`, or `client_options=ClientOptions(api_endpoint=...)`.
    Security: `credentials` (grpc.ChannelCredentials such as
    `tls_credentials(ca=...)`, or google.auth credentials, sent over TLS),
    `token` for a server that wants a bearer token, or a ready `channel`
    (with interceptors, say) instead of a target.
    """

    _retry_kind = _retry.AsyncRetry
    _transport_kind = AsyncTransport
    _transport: AsyncTransport

    def __init__(
        self,
        target: str | None = None,
        *,
        client_options: client_options_lib.ClientOptions | Mapping[str, Any] | None = None,
        credentials: Any = None,
        channel: grpc.aio.Channel | None = None,
        token: str | None = None,
        timeout: float = _core.DEFAULT_TIMEOUT,
        retry: retry_async.AsyncRetry | None = None,
    ) -> None:
        super().__init__(target, client_options, credentials, channel, token, timeout, retry)

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
        request: pb.CreateVideoRequest | Mapping[str, Any] | None = None,
        *,
        video: pb.Video | Mapping[str, Any] | None = None,
        video_id: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> AsyncOperation:
        """Start rendering a video; `.result()` of the answer is the Video.
        A request_id is made once per call (unless given in `request`) and
        reused by every retry, so a lost answer never makes a second video.

        Example: `await (await c.create_video(video={"title": "T"}, video_id="t")).result()`
        """
        settings = (retry, timeout, metadata)
        call = self._build_create_video(request, video, video_id, settings)
        return self._future(await self._transport.invoke(call), metadata)

    async def get_video(
        self,
        request: pb.GetVideoRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> pb.Video:
        """Example: `(await client.get_video(name="videos/my-movie")).title`"""
        call = self._build_get_video(request, name, (retry, timeout, metadata))
        return await self._transport.invoke(call)

    async def list_videos(
        self,
        request: pb.ListVideosRequest | Mapping[str, Any] | None = None,
        *,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> ListVideosAsyncPager:
        """Every video, oldest first, a page at a time (the first fetched now).

        Example: `[v.title async for v in await client.list_videos(request={"page_size": 50})]`
        """
        call = self._build_list_videos(request, (retry, timeout, metadata))
        return ListVideosAsyncPager(
            self._transport.invoke, call, await self._transport.invoke(call)
        )

    async def delete_video(
        self,
        request: pb.DeleteVideoRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> AsyncOperation:
        """Start deleting a video. Example: `await (await c.delete_video(name="t")).result()`"""
        call = self._build_delete_video(request, name, (retry, timeout, metadata))
        return self._future(await self._transport.invoke(call), metadata)

    # --- operations ---

    async def operation(
        self, name: str, *, timeout: float | None = None, metadata: MetadataArg = ()
    ) -> AsyncOperation:
        """The future of an operation started elsewhere (another process, curl, grpcurl).

        Example: `await (await client.operation("operations/abc")).result()`
        """
        return self._future(
            await self.get_operation(name=name, timeout=timeout, metadata=metadata), metadata
        )

    async def get_operation(
        self,
        request: operations_pb2.GetOperationRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> operations_pb2.Operation:
        call = self._build_get_operation(request, name, (retry, timeout, metadata))
        return await self._transport.invoke(call)

    async def list_operations(
        self,
        request: operations_pb2.ListOperationsRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        filter: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> ListOperationsAsyncPager:
        """Operations, oldest first; `filter` is AIP-160, e.g. `done = false`."""
        call = self._build_list_operations(request, name, filter, (retry, timeout, metadata))
        return ListOperationsAsyncPager(
            self._transport.invoke, call, await self._transport.invoke(call)
        )

    async def wait_operation(
        self,
        request: operations_pb2.WaitOperationRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> operations_pb2.Operation:
        """The operation once done, or as it stands after the request's
        `timeout` (else this call's `timeout`, else the client's).

        Example: `(await client.wait_operation(name="operations/abc", timeout=10)).done`
        """
        call = self._build_wait_operation(request, name, (retry, timeout, metadata))
        return await self._transport.invoke(call)

    async def cancel_operation(
        self,
        request: operations_pb2.CancelOperationRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> None:
        call = self._build_cancel_operation(request, name, (retry, timeout, metadata))
        await self._transport.invoke(call)

    async def delete_operation(
        self,
        request: operations_pb2.DeleteOperationRequest | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        retry: retry_async.AsyncRetry | MethodDefault | None = DEFAULT,
        timeout: float | MethodDefault | None = DEFAULT,
        metadata: MetadataArg = (),
    ) -> None:
        call = self._build_delete_operation(request, name, (retry, timeout, metadata))
        await self._transport.invoke(call)

    def _future(self, proto: operations_pb2.Operation, metadata: MetadataArg) -> AsyncOperation:
        """The operation's future: its waits, refreshes and cancels carry the
        metadata of the call that started it (a token given per call, say)."""

        async def wait(name: str, hold: float, left: float | None) -> operations_pb2.Operation:
            return await self._transport.invoke(self._build_wait(name, hold, left, metadata))

        return AsyncOperation(
            proto,
            wait=wait,
            refresh=lambda: self.get_operation(name=proto.name, metadata=metadata),
            cancel=lambda: self.cancel_operation(name=proto.name, metadata=metadata),
            **_core.future_types(proto),
        )
