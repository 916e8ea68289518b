"""What both SQL backends select and filter on: their schemas share these names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..media import Media
from .base import FinishedCounts, QueueCounts, VideoRow

CANCELLED = 1  # google.rpc.Code.CANCELLED, the error_code of a cancelled operation

# The order OperationRow takes them in.
OPERATION_COLUMNS = (
    "id, seq, verb, target, done, progress_percent, status_message, cancel_requested,"
    " create_time, update_time, end_time, response, error, title"
)
# A video's keyset is its list_seq (see the migrations), not the reservation order.
VIDEO_COLUMNS = (
    "id, list_seq, title, plot, create_time, update_time,"
    " uri, duration_us, size_bytes, sha256, thumbnail_uri"
)
MEDIA_COLUMNS = ("uri", "duration_us", "size_bytes", "sha256", "thumbnail_uri")
VISIBLE_VIDEO = "state IN ('active', 'deleting')"
# Unfinished operations, by whether a live lease holds them; {0}: the time.
QUEUE_COUNTS = (
    "SELECT count(*) FILTER (WHERE j.lease_expires <= {0}),"
    " count(*) FILTER (WHERE j.lease_expires > {0}),"
    " min(o.create_time) FILTER (WHERE j.lease_expires <= {0})"
    " FROM jobs j JOIN operations o ON o.seq = j.operation_seq"
)
# Finished operations (an index-only count), then those that did not succeed,
# from operations_by_failure; {done}: the backend's way to say done (as its
# indexes do), {failures}: the table, with the index named where it must be.
FINISHED_COUNT = "SELECT count(*) FROM operations WHERE {done}"
FAILURE_COUNTS = (
    f"SELECT count(*) FILTER (WHERE error_code = {CANCELLED}), count(*) FROM {{failures}}"
    " WHERE {done} AND error_code <> 0"
)
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


def media_update(param: Callable[[str], str]) -> str:
    """The SET list that records a video's media, each column from the
    parameter of its own name (see media_params)."""
    return ", ".join(f"{column} = {param(column)}" for column in MEDIA_COLUMNS)


def media_params(media: Media) -> dict[str, str | int]:
    """The parameters of media_update."""
    values = (media.uri, media.duration_us, media.size_bytes, media.sha256, media.thumbnail_uri)
    return dict(zip(MEDIA_COLUMNS, values, strict=True))


def queue_counts(row: Any) -> QueueCounts:
    """Map the row of QUEUE_COUNTS."""
    queued, running, oldest = row
    return QueueCounts(queued, running, oldest)


def finished_counts(finished: int, failures: Any) -> FinishedCounts:
    """From FINISHED_COUNT's count and FAILURE_COUNTS' row."""
    cancelled, unsuccessful = failures
    return FinishedCounts(finished - unsuccessful, unsuccessful - cancelled, cancelled)
