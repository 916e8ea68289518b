"""GET /videos/{video}/content and /thumbnail: the rendered files, streamed
from the server's ReadVideoContent, with byte ranges (RFC 9110 §14) and an
ETag from the file's SHA-256, so that a browser can play and seek a video;
or, with --content-redirect, a 307 to the file in the bucket (redirect.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response

from longreel.common import numbers
from longreel.video.v1 import video_service_pb2 as pb

from .backend import CALL_TIMEOUT, Backend, Lane
from .errors import HttpError
from .holds import HeldStream
from .redirect import Redirects

RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)  # ASCII: \d is any script's
LARGEST = 10**numbers.MAX_DIGITS  # past any file; a range past it is ignored
TYPES = {
    pb.ReadVideoContentRequest.VIDEO: "video/mp4",
    pb.ReadVideoContentRequest.THUMBNAIL: "image/png",
}


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `bytes=` range; None for the whole file.
    Raises HttpError 416 for a range that does not overlap the file."""
    match = RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None  # absent, several ranges or another unit: the whole file (§14.2)
    try:  # a number past 20 digits is not read: the range is ignored (§14.2 allows it)
        first, last = (numbers.whole(n, LARGEST) if n else None for n in match.groups())
    except ValueError:
        return None
    if first is not None and last is not None and last < first:
        return None  # not a valid range (RFC 9110 §14.1.1): ignored, the whole file
    if first is None:  # the last N bytes
        if last == 0:
            raise _unsatisfiable(size)
        return max(0, size - (last or 0)), size - 1
    end = min(last, size - 1) if last is not None else size - 1
    if first >= size:
        raise _unsatisfiable(size)
    return first, end


def _unsatisfiable(size: int) -> HttpError:
    return HttpError(
        grpc.StatusCode.OUT_OF_RANGE,
        f"the range is outside the file ({size} bytes)",
        "RANGE_NOT_SATISFIABLE",
        http_status=416,
        headers={"Content-Range": f"bytes */{size}"},
    )


async def video_content(request: Request) -> Response:
    return await _serve(request, pb.ReadVideoContentRequest.VIDEO)


async def thumbnail(request: Request) -> Response:
    return await _serve(request, pb.ReadVideoContentRequest.THUMBNAIL)


async def _serve(request: Request, part: pb.ReadVideoContentRequest.Part) -> Response:
    api: Backend = request.app.state.backend
    name = f"videos/{request.path_params['video']}"
    video = await api.videos.GetVideo(pb.GetVideoRequest(name=name), timeout=CALL_TIMEOUT)
    if not video.sha256:
        raise HttpError(
            grpc.StatusCode.NOT_FOUND,
            f"{name} has no rendered content (a simulated processor made it)",
            "NO_CONTENT",
        )
    is_video = part == pb.ReadVideoContentRequest.VIDEO
    tag = f'"{video.sha256}"' if is_video else f'"{video.sha256}.png"'
    headers = {
        "ETag": tag,
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes" if is_video else "none",
    }
    if matches(request.headers.get("If-None-Match"), tag):
        return Response(status_code=304, headers=headers)
    redirects: Redirects | None = getattr(request.app.state, "redirects", None)
    if redirects is not None and request.method == "GET":
        video_id = request.path_params["video"]
        location = await redirects.location(video_id, video.sha256, not is_video)
        return Response(status_code=307, headers=redirects.headers(location))
    status, offset, limit = 200, 0, 0
    if is_video:
        size = video.size_bytes
        wanted = request.headers.get("Range")
        if request.headers.get("If-Range", tag) != tag:
            wanted = None  # the file changed since the client's copy: send it whole
        span = byte_range(wanted, size)
        if span is not None:
            status, offset, limit = 206, span[0], span[1] - span[0] + 1
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
        headers["Content-Length"] = str(limit or size)
    if request.method == "HEAD" and is_video:
        return Response(status_code=status, headers=headers, media_type=TYPES[part])
    # No deadline for the whole stream: a browser reads a video at playback
    # speed. The first piece must come within CALL_TIMEOUT, and a client that
    # leaves cancels the call.
    ticket, lane = api.hold(request)
    try:
        call, first = await _open(lane, name, offset, limit, part)
        if not is_video:  # small: sent whole, with its length (HEAD too)
            body = b""
            async for piece in _pieces(call, first):
                body += piece
            ticket.release()
            headers["Content-Length"] = str(len(body))
            empty = request.method == "HEAD"
            return Response(b"" if empty else body, status, headers, media_type=TYPES[part])
    except BaseException:
        ticket.release()
        raise
    return HeldStream(
        ticket, _pieces(call, first), status_code=status, headers=headers, media_type=TYPES[part]
    )


async def _open(
    lane: Lane, name: str, offset: int, limit: int, part: pb.ReadVideoContentRequest.Part
) -> tuple[grpc.aio.UnaryStreamCall[Any, Any], object]:
    """The call and its first piece: a failure becomes an error answer, before any header."""
    call = lane.videos.ReadVideoContent(
        pb.ReadVideoContentRequest(name=name, read_offset=offset, read_limit=limit, part=part)
    )
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            return call, await call.read()
    except TimeoutError:
        call.cancel()
        raise HttpError(
            grpc.StatusCode.UNAVAILABLE, "the server did not start sending the file", "SLOW_READ"
        ) from None


def matches(header: str | None, tag: str) -> bool:
    """If-None-Match against our strong tag, with weak comparison (§13.1.2)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == tag for candidate in header.split(","))


async def _pieces(call: grpc.aio.UnaryStreamCall[Any, Any], first: object) -> AsyncIterator[bytes]:
    try:
        while first is not grpc.aio.EOF:
            assert isinstance(first, pb.ReadVideoContentResponse)
            yield first.data
            first = await call.read()
    finally:
        call.cancel()  # the client went away mid-file: stop the server's reading too
