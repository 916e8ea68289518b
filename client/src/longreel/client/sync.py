"""VideoClient: the blocking client. Every call has a deadline, retries
UNAVAILABLE with backoff and jitter, and raises google-api-core exceptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import grpc
from google.api_core import gapic_v1, retry
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from . import _core
from .future import Operation


class VideoClient:
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
        if channel is None:
            _core.refuse_plaintext_token(target, token, credentials is not None)
        self._metadata = _core.auth_metadata(token)
        self._own_channel = channel is None
        self._channel = channel or _channel(target, credentials)
        # Long polls ride their own connection, so they never queue short calls.
        self._wait_channel = channel or _channel(target, credentials, local_pool=True)
        self._timeout = timeout
        self._retry = retry or _core.default_retry()
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
            gapic_v1.method.wrap_method(
                waits.WaitOperation, default_retry=self._retry, client_info=None
            ),
            self._metadata,
        )

    def _options(self, timeout: float | None) -> dict[str, Any]:
        return _core.call_options(self._timeout if timeout is None else timeout, self._retry)

    def _wrap(self, method: Any) -> Callable[..., Any]:
        return _core.with_metadata(
            gapic_v1.method.wrap_method(
                method, default_retry=self._retry, default_timeout=self._timeout, client_info=None
            ),
            self._metadata,
        )

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
        if self._own_channel:
            self._channel.close()
            self._wait_channel.close()

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
        request = _core.create_request(title, plot, video_id, request_id)
        return self._future(self._create(request, **self._options(timeout)))

    def get_video(self, video: str, *, timeout: float | None = None) -> pb.Video:
        """Example: `client.get_video("videos/my-movie").title`"""
        request = pb.GetVideoRequest(name=_core.video_name(video))
        found: pb.Video = self._get_video(request, **self._options(timeout))
        return found

    def list_videos(
        self, *, page_size: int = 0, timeout: float | None = None
    ) -> Iterator[pb.Video]:
        """Every video, oldest first, fetched a page at a time.

        Example: `titles = [v.title for v in client.list_videos()]`
        """
        token = ""
        while True:
            request = pb.ListVideosRequest(page_size=page_size, page_token=token)
            page = self._list_videos(request, **self._options(timeout))
            yield from page.videos
            if not (token := page.next_page_token):
                return

    def delete_video(
        self, video: str, *, request_id: str | None = None, timeout: float | None = None
    ) -> Operation:
        """Start deleting a video. Example: `client.delete_video("my-movie").result()`"""
        request = _core.delete_request(video, request_id)
        return self._future(self._delete(request, **self._options(timeout)))

    # --- operations ---

    def operation(self, name: str, *, timeout: float | None = None) -> Operation:
        """The future of an operation started elsewhere (another process, curl, grpcurl).

        Example: `client.operation("operations/abc").result()`
        """
        return self._future(self.get_operation(name, timeout=timeout))

    def get_operation(self, name: str, *, timeout: float | None = None) -> operations_pb2.Operation:
        request = operations_pb2.GetOperationRequest(name=_core.operation_name(name))
        found: operations_pb2.Operation = self._get_op(request, **self._options(timeout))
        return found

    def list_operations(
        self, filter: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> Iterator[operations_pb2.Operation]:
        """Operations, oldest first; `filter` is AIP-160, e.g. `done = false`."""
        token = ""
        while True:
            request = operations_pb2.ListOperationsRequest(
                name="operations", filter=filter, page_size=page_size, page_token=token
            )
            page = self._list_ops(request, **self._options(timeout))
            yield from page.operations
            if not (token := page.next_page_token):
                return

    def wait_operation(
        self, name: str, *, timeout: float = _core.WAIT_SLICE, retry_for: float | None = None
    ) -> operations_pb2.Operation:
        """The operation once done, or as it stands after `timeout` seconds;
        an unreachable server is retried for `retry_for` seconds (the client's
        timeout if not given; None in a future means until the caller's deadline).

        Example: `client.wait_operation("operations/abc", timeout=10).done`
        """
        request = _core.wait_request(_core.operation_name(name), timeout)
        options = _core.wait_options(timeout, retry_for or self._timeout, self._retry)
        found: operations_pb2.Operation = self._wait_op(request, **options)
        return found

    def _wait_within(self, name: str, hold: float, left: float | None) -> operations_pb2.Operation:
        request = _core.wait_request(name, hold)
        found: operations_pb2.Operation = self._wait_op(
            request, **_core.wait_options(hold, left, self._retry)
        )
        return found

    def cancel_operation(self, name: str, *, timeout: float | None = None) -> None:
        request = operations_pb2.CancelOperationRequest(name=_core.operation_name(name))
        self._cancel_op(request, **self._options(timeout))

    def delete_operation(self, name: str, *, timeout: float | None = None) -> None:
        request = operations_pb2.DeleteOperationRequest(name=_core.operation_name(name))
        self._delete_op(request, **self._options(timeout))

    def _future(self, proto: operations_pb2.Operation) -> Operation:
        kind: type[Message] = _core.result_type(proto)
        return Operation(
            proto,
            wait=self._wait_within,
            refresh=lambda retry=None: self.get_operation(proto.name),
            cancel=lambda: self.cancel_operation(proto.name),
            result_type=kind,
            metadata_type=pb.OperationMetadata,
        )


def _channel(
    target: str, credentials: grpc.ChannelCredentials | None, *, local_pool: bool = False
) -> grpc.Channel:
    options = [*_core.RECONNECT, *([("grpc.use_local_subchannel_pool", 1)] if local_pool else [])]
    if credentials is not None:
        return grpc.secure_channel(target, credentials, options=options)
    return grpc.insecure_channel(target, options=options)
