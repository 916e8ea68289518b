"""What both SQL backends select and filter on: their schemas share these names."""

from __future__ import annotations

from typing import Any

from .base import Media, VideoRow

CANCELLED = 1  # google.rpc.Code.CANCELLED, the error_code of a cancelled operation

# The order OperationRow takes them in.
OPERATION_COLUMNS = (
    "id, seq, verb, target, done, progress_percent, status_message, cancel_requested,"
    " create_time, update_time, end_time, response, error"
)
# A video's keyset is its list_seq (see the migrations), not the reservation order.
VIDEO_COLUMNS = (
    "id, list_seq, title, plot, create_time, update_time,"
    " uri, duration_us, size_bytes, sha256, thumbnail_uri"
)
MEDIA_UPDATE = "uri = {0}, duration_us = {0}, size_bytes = {0}, sha256 = {0}, thumbnail_uri = {0}"
VISIBLE_VIDEO = "state IN ('active', 'deleting')"
# Filterable columns of operations; the filter compiler accepts no others.
FILTER_COLUMNS = {
    "done": "done",
    "verb": "verb",
    "target": "target",
    "error_code": "error_code",
    "create_time": "create_time",
}


def video_row(row: Any) -> VideoRow:
    """Map a row selected with VIDEO_COLUMNS."""
    media = None if row[6] is None else Media(*row[6:11])
    id_, seq, title, plot, created, updated = row[:6]
    return VideoRow(id_, seq, title, plot, created, updated, media)


def media_values(media: Media) -> tuple[str, int, int, str, str]:
    """The values for MEDIA_UPDATE, in its order."""
    return media.uri, media.duration_us, media.size_bytes, media.sha256, media.thumbnail_uri
