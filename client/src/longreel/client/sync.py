"""VideoClient: the blocking client. Every call has a deadline, retries
UNAVAILABLE with backoff and jitter, and raises google-api-core exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from types import TracebackType

import grpc
from google.api_core import retry
from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from . import _core, _retry
from ._transport import Transport
from .future import Operation


class VideoClient(_core.BaseVideoClient[retry.Retry]):
    """A client of the video service.

    Example::

        with VideoClient("localhost:50051") as client:
            video = client.create_video("My movie", "A plot").result(timeout=60)
            for each in client.list_videos():
                print(each.name, each.title)

    Pass `credentials` (grpc.ssl_channel_credentials(...), or
    `tls_credentials(ca=...)`) for TLS, `token` for a server that wants a
    bearer token, or a ready `channel` (with interceptors, say) instead of a
    target.
    """

    _retry_kind = _retry.Retry
    _transport_kind = Transport
    _transport: Transport

    def __init__(
        self,
        target: str = _core.DEFAULT_TARGET,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        channel: grpc.Channel | None = None,
        token: str | None = None,
        timeout: float = _core.DEFAULT_TIMEOUT,
        retry: retry.Retry | None = None,
    ) -> None:
        super().__init__(target, credentials, channel, token, timeout, retry)

    def __enter__(self) -> VideoClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channels this client made (not one it was given)."""
        self._transport.close()

    # --- videos ---

    def create_video(
        self,
        title: str,
        plot: str = "",
        *,
        video_id: str | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> Operation:
        """Start rendering a video; `.result()` of the answer is the Video.

        Example: `client.create_video("My movie", "A plot", video_id="my-movie").result()`
        """
        call = self._build_create_video(title, plot, video_id, request_id, timeout)
        return self._future(self._transport.invoke(call))

    def get_video(self, video: str, *, timeout: float | None = None) -> pb.Video:
        """Example: `client.get_video("videos/my-movie").title`"""
        return self._transport.invoke(self._build_get_video(video, timeout))

    def list_videos(
        self, filter: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> Iterator[pb.Video]:
        """Every video, oldest first, fetched a page at a time; `filter` is
        AIP-160, e.g. `title = "My movie"`.

        Example: `titles = [v.title for v in client.list_videos()]`
        """
        page = partial(self._build_list_videos, filter, page_size, timeout)
        return self._transport.items(page, "videos")

    def delete_video(
        self, video: str, *, request_id: str | None = None, timeout: float | None = None
    ) -> Operation:
        """Start deleting a video. Example: `client.delete_video("my-movie").result()`"""
        call = self._build_delete_video(video, request_id, timeout)
        return self._future(self._transport.invoke(call))

    # --- operations ---

    def operation(self, name: str, *, timeout: float | None = None) -> Operation:
        """The future of an operation started elsewhere (another process, curl, grpcurl).

        Example: `client.operation("operations/abc").result()`
        """
        return self._future(self.get_operation(name, timeout=timeout))

    def get_operation(self, name: str, *, timeout: float | None = None) -> operations_pb2.Operation:
        return self._transport.invoke(self._build_get_operation(name, timeout))

    def list_operations(
        self,
        filter: str = "",
        *,
        page_size: int = 0,
        timeout: float | None = None,
        order_by: str = "",
    ) -> Iterator[operations_pb2.Operation]:
        """Operations, oldest first, or latest first with `order_by="create_time desc"`;
        `filter` is AIP-160, e.g. `done = false`."""
        page = partial(self._build_list_operations, filter, page_size, timeout, order_by)
        return self._transport.items(page, "operations")

    def wait_operation(
        self, name: str, *, timeout: float = _core.WAIT_SLICE, retry_for: float | None = None
    ) -> operations_pb2.Operation:
        """The operation once done, or as it stands after `timeout` seconds;
        an unreachable server is retried for `retry_for` seconds (the client's
        timeout if not given; None in a future means until the caller's deadline).

        Example: `client.wait_operation("operations/abc", timeout=10).done`
        """
        return self._wait(name, timeout, retry_for or self._timeout)

    def _wait(self, name: str, hold: float, left: float | None) -> operations_pb2.Operation:
        return self._transport.invoke(self._build_wait_operation(name, hold, left))

    def cancel_operation(self, name: str, *, timeout: float | None = None) -> None:
        self._transport.invoke(self._build_cancel_operation(name, timeout))

    def delete_operation(self, name: str, *, timeout: float | None = None) -> None:
        self._transport.invoke(self._build_delete_operation(name, timeout))

    def _future(self, proto: operations_pb2.Operation) -> Operation:
        return Operation(
            proto,
            wait=self._wait,
            refresh=lambda retry=None: self.get_operation(proto.name),
            cancel=lambda: self.cancel_operation(proto.name),
            **_core.future_types(proto),
        )
