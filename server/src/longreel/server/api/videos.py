"""VideoService: create and delete start operations; get and list read videos."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from longreel.common import logs
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .. import convert, filtering, names, tracing, validation
from ..auth import caller
from ..errors import ApiError, not_found, rpc_errors, rpc_stream_errors
from ..media import MediaFailed, MediaMissing, MediaStore
from ..store import AlreadyExists, NewOperation, NotFound, OperationRow, Store
from ..store.pagination import PageTokens
from . import pages

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
VIDEO = "video"
# What ListVideos can filter on (AIP-160), as the caller names it.
FILTER_FIELDS = {
    "title": filtering.FieldSpec("title", "string"),
    "create_time": filtering.FieldSpec("create_time", "timestamp"),
}
BACKLOG_RETRY = 5  # seconds a caller refused for a full backlog is told to wait
BACKLOG_FRESH = 0.1  # seconds an admission count is trusted while far from full


def fingerprint(request: Message) -> bytes:
    """What makes two requests "the same" for AIP-155: all but the request_id."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField("request_id")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).digest()


def already_exists(name: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.ALREADY_EXISTS,
        f"{name} already exists",
        "VIDEO_ALREADY_EXISTS",
        metadata={"resource": name},
        details=[error_details_pb2.ResourceInfo(resource_type=VIDEO, resource_name=name)],
    )


def _accepted(row: OperationRow, minted: NewOperation) -> None:
    """The event of a new operation, or of a repeat answered with an earlier
    one; the call's later lines carry the operation too."""
    logs.bind(operation=names.operation_name(row.id), request_id=minted.request_id)
    repeat = "" if row.id == minted.id else " (a repeat: answered with the earlier operation)"
    log.info("accepted %s of %s%s", row.verb, row.target, repeat, extra={"verb": row.verb})


def _past_the_end(offset: int, size: int) -> ApiError:
    return ApiError(
        grpc.StatusCode.OUT_OF_RANGE,
        f"read_offset {offset} is past the end ({size} bytes)",
        "OFFSET_OUT_OF_RANGE",
        metadata={"size": str(size)},
    )


class VideoService(pb_grpc.VideoServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        store: Store,
        tokens: PageTokens,
        media: MediaStore,
        *,
        max_backlog: int,
    ) -> None:
        self.media = media
        self.store = store
        self.tokens = tokens
        self.max_backlog = max_backlog
        self._backlog_read = -math.inf  # when the backlog was last read (monotonic)
        self._backlog = 0  # as read then, plus what this server admitted since

    async def _admit(self) -> None:
        """Refuse new work while the backlog is full, telling callers when to retry.

        The count is read again when it is older than BACKLOG_FRESH, or when
        the estimate says full, so a busy server does not pay a read per
        create (the profile showed it) yet refuses only on a fresh count. A
        soft bound: creates admitted at the same moment, here or on other
        servers, may pass it by as many as are in flight."""
        now = time.monotonic()
        if now - self._backlog_read > BACKLOG_FRESH or self._backlog >= self.max_backlog:
            self._backlog, self._backlog_read = await self.store.backlog(), now
        if self._backlog >= self.max_backlog:
            delay = duration_pb2.Duration(seconds=BACKLOG_RETRY)
            raise ApiError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the backlog is full ({self.max_backlog} operations waiting); retry later",
                "BACKLOG_FULL",
                details=[error_details_pb2.RetryInfo(retry_delay=delay)],
            )
        self._backlog += 1

    @rpc_errors
    async def CreateVideo(
        self, request: pb.CreateVideoRequest, context: Context
    ) -> operations_pb2.Operation:
        v = validation.Violations()
        if not request.HasField("video"):
            v.add("video", "is required")
        else:
            validation.text(
                v, "video.title", request.video.title, limit=validation.MAX_TITLE, required=True
            )
        validation.text(
            v, "video.plot", request.video.plot, limit=validation.MAX_PLOT, required=False
        )
        validation.video_id(v, "video_id", request.video_id)
        validation.request_id(v, "request_id", request.request_id)
        v.raise_if_any()
        await self._admit()
        video_id = request.video_id or names.new_id()
        op = self._new_operation(video_id, request, "queued")
        try:
            row = await self.store.start_create(op, request.video.title, request.video.plot)
        except AlreadyExists:
            raise already_exists(op.target) from None
        _accepted(row, op)
        return convert.operation(row)

    @rpc_errors
    async def GetVideo(self, request: pb.GetVideoRequest, context: Context) -> pb.Video:
        v = validation.Violations()
        video_id = validation.name(v, "name", request.name, names.VIDEOS)
        v.raise_if_any()
        row = await self.store.get_video(video_id, caller())
        if row is None:
            raise not_found(VIDEO, request.name)
        return convert.video(row)

    @rpc_errors
    async def ListVideos(
        self, request: pb.ListVideosRequest, context: Context
    ) -> pb.ListVideosResponse:
        v = validation.Violations()
        size = validation.page_size(v, request.page_size)
        where = validation.filter_tree(v, request.filter, FILTER_FIELDS)
        v.raise_if_any()
        # A token is bound to its filter; without one, to the name tokens always had.
        query = f"{names.VIDEOS}?filter={request.filter}" if request.filter else names.VIDEOS
        after = validation.page_token(self.tokens, request.page_token, query)
        rows = await self.store.list_videos(after, size + 1, caller(), where=where)
        shown = pages.fit([convert.video(r) for r in rows[:size]])
        response = pb.ListVideosResponse(videos=shown)
        if len(rows) > len(shown):
            response.next_page_token = self.tokens.encode(rows[len(shown) - 1].seq, query)
        return response

    @rpc_errors
    async def DeleteVideo(
        self, request: pb.DeleteVideoRequest, context: Context
    ) -> operations_pb2.Operation:
        v = validation.Violations()
        video_id = validation.name(v, "name", request.name, names.VIDEOS)
        validation.request_id(v, "request_id", request.request_id)
        v.raise_if_any()
        await self._admit()
        op = self._new_operation(video_id, request, "queued")
        try:
            row = await self.store.start_delete(op)
        except NotFound:
            raise not_found(VIDEO, request.name) from None
        _accepted(row, op)
        return convert.operation(row)

    @rpc_stream_errors
    async def ReadVideoContent(
        self, request: pb.ReadVideoContentRequest, context: Context
    ) -> AsyncIterator[pb.ReadVideoContentResponse]:
        v = validation.Violations()
        video_id = validation.name(v, "name", request.name, names.VIDEOS)
        if request.read_offset < 0:
            v.add("read_offset", "must not be negative")
        if request.read_limit < 0:
            v.add("read_limit", "must not be negative")
        if request.part not in pb.ReadVideoContentRequest.Part.values():
            v.add("part", f"must be VIDEO or THUMBNAIL, not {request.part}")
        v.raise_if_any()
        row = await self.store.get_video(video_id, caller())
        if row is None:
            raise not_found(VIDEO, request.name)
        if row.media is None:
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{request.name} has no rendered content (it was made by a simulated processor)",
                "NO_CONTENT",
            )
        thumbnail = request.part == pb.ReadVideoContentRequest.THUMBNAIL
        sha256 = row.media.sha256
        try:  # the video's size is recorded; the thumbnail's is asked for
            size = await self.media.size(video_id, sha256, True) if thumbnail else None
            size = row.media.size_bytes if size is None else size
            if request.read_offset > size:
                raise _past_the_end(request.read_offset, size)
            if request.read_offset == size:
                return  # nothing to send: no request to the storage for it
            pieces = await self.media.read(
                video_id, sha256, thumbnail, request.read_offset, request.read_limit
            )
            async for piece in pieces:
                yield pb.ReadVideoContentResponse(data=piece)
        except MediaMissing:
            raise not_found(VIDEO, request.name) from None  # deleted as we looked
        except MediaFailed as exc:
            raise ApiError(grpc.StatusCode.UNAVAILABLE, str(exc), "MEDIA_UNAVAILABLE") from None

    def _new_operation(self, video_id: str, request: Message, message: str) -> NewOperation:
        request_id: str = getattr(request, "request_id", "")
        return NewOperation(
            id=names.new_id(),
            video_id=video_id,
            target=names.video_name(video_id),
            now=self.store.now(),
            status_message=message,
            request_id=request_id or None,
            request_hash=fingerprint(request) if request_id else None,
            principal=caller(),
            trace_parent=tracing.current_traceparent(),
        )
