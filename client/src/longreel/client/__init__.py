"""The Python client of the video service, sync and asyncio.

    from longreel.client import VideoClient

    with VideoClient("localhost:50051") as client:
        op = client.create_video(video={"title": "My movie", "plot": "Plot of the movie"})
        video = op.result(timeout=120)    # learns of completion by long poll

The clients have the shape of google-cloud-* (GAPIC) clients: `request=` or
flattened fields, per-call `retry=`/`timeout=`/`metadata=`, pagers
(longreel.client.pagers), `client_options=` and `credentials=`.
Operations are futures with google-api-core's interface (result, exception,
done, running, cancel, cancelled, metadata, add_done_callback), and errors
are google-api-core exceptions:

    GoogleAPICallError
    ├── ClientError: InvalidArgument (field violations in .details),
    │   NotFound, AlreadyExists, FailedPrecondition, ...
    └── ServerError: ServiceUnavailable (retried), InternalServerError, ...

The names below load on first use, so `videoctl` starts (and answers Ctrl-C)
before grpc and api-core are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.api_core import exceptions

    from longreel.video.v1.video_service_pb2 import OperationMetadata, Video

    from ._core import tls_credentials
    from .aio import AsyncVideoClient
    from .future import AsyncOperation, Operation
    from .sync import VideoClient

__all__ = [
    "AsyncOperation",
    "AsyncVideoClient",
    "Operation",
    "OperationMetadata",
    "Video",
    "VideoClient",
    "exceptions",
    "tls_credentials",
]

_WHERE = {
    "AsyncOperation": ".future",
    "AsyncVideoClient": ".aio",
    "Operation": ".future",
    "VideoClient": ".sync",
    "Video": "longreel.video.v1.video_service_pb2",
    "OperationMetadata": "longreel.video.v1.video_service_pb2",
    "tls_credentials": "._core",
}


def __getattr__(name: str) -> Any:
    if name == "exceptions":
        return importlib.import_module("google.api_core.exceptions")
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
