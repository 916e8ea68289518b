"""Store records to API messages: the one place that knows both shapes."""

from __future__ import annotations

from google.longrunning import operations_pb2
from google.protobuf import any_pb2, timestamp_pb2
from google.rpc import status_pb2

from longreel.video.v1 import video_service_pb2 as pb

from . import names
from .store import OperationRow, VideoRow

API_VERSION = "v1"


def timestamp(micros: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(micros)
    return stamp


def video(row: VideoRow) -> pb.Video:
    found = pb.Video(
        name=names.video_name(row.id),
        title=row.title,
        plot=row.plot,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
    )
    if (media := row.media) is not None:
        found.uri, found.size_bytes, found.sha256 = media.uri, media.size_bytes, media.sha256
        found.duration.FromMicroseconds(media.duration_us)
        found.thumbnail_uri = media.thumbnail_uri
    return found


def metadata(row: OperationRow) -> pb.OperationMetadata:
    meta = pb.OperationMetadata(
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        target=row.target,
        verb=row.verb,
        status_message=row.status_message,
        requested_cancellation=row.cancel_requested,
        api_version=API_VERSION,
        progress_percent=row.progress_percent,
        title=row.title,
    )
    if row.end_time is not None:
        meta.end_time.CopyFrom(timestamp(row.end_time))
    return meta


def operation(row: OperationRow) -> operations_pb2.Operation:
    op = operations_pb2.Operation(name=names.operation_name(row.id), done=row.done)
    op.metadata.Pack(metadata(row))
    if row.error is not None:
        op.error.CopyFrom(status_pb2.Status.FromString(row.error))
    elif row.response is not None:
        op.response.CopyFrom(any_pb2.Any.FromString(row.response))
    return op


def pack(message: object) -> bytes:
    """Serialized google.protobuf.Any holding message: an operation's response."""
    wrapper = any_pb2.Any()
    wrapper.Pack(message)  # type: ignore[arg-type]
    return wrapper.SerializeToString()
