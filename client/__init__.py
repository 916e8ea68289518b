"""The Python client of the video service, sync and asyncio.

    from longreel.client import VideoClient

    with VideoClient("localhost:50051") as client:
        op = client.create_video("My movie", "Plot of the movie")
        video = op.result(timeout=120)    # learns of completion by long poll

Operations are google-api-core operation futures (result, exception, done,
running, cancel, cancelled, metadata, add_done_callback), and errors are
google-api-core exceptions:

    GoogleAPICallError
    ├── ClientError: InvalidArgument (field violations in .details),
    │   NotFound, AlreadyExists, FailedPrecondition, ...
    └── ServerError: ServiceUnavailable (retried), InternalServerError, ...
"""

from google.api_core import exceptions

from .aio import AsyncVideoClient
from .future import AsyncOperation, Operation
from .sync import VideoClient

__all__ = ["AsyncOperation", "AsyncVideoClient", "Operation", "VideoClient", "exceptions"]
