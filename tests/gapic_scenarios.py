"""What a user of the generated client does, run in a Python of its own:
`python gapic_scenarios.py GENERATED_DIR SCENARIO TRANSPORT ENDPOINT`
prints what it saw as one JSON object, for tests/acceptance/test_gapic_client.py.

A process of its own because proto-plus registers the generated messages
(longreel.video.v1.Video...) in protobuf's default pool, where the test
process's in-process server already has ours: one process cannot hold both,
just as a user's program holds only one of the two clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials

RESULT_TIMEOUT = 60  # seconds: the test's processor finishes in far less


def make_client(transport: str, endpoint: str) -> Any:
    """grpc: a plaintext channel (the generated default is TLS with Google's
    credentials); grpc_asyncio: the same, for the async twin; rest: the
    gateway's URL, anonymous, over plain HTTP."""
    from longreel_gapic.video_v1 import VideoServiceAsyncClient, VideoServiceClient
    from longreel_gapic.video_v1.services.video_service import transports

    if transport == "grpc_asyncio":
        channel = grpc.aio.insecure_channel(endpoint)
        transport_made = transports.VideoServiceGrpcAsyncIOTransport(channel=channel)
        return VideoServiceAsyncClient(transport=transport_made)
    if transport == "grpc":
        channel = grpc.insecure_channel(endpoint)
        return VideoServiceClient(transport=transports.VideoServiceGrpcTransport(channel=channel))
    return VideoServiceClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=endpoint),
        credentials=AnonymousCredentials(),
    )


def error(call: Callable[[], Any]) -> dict[str, Any]:
    """The api-core exception a call raised, as names."""
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        code = exc.grpc_status_code
        seen = {"class": type(exc).__name__, "grpc_code": code.name if code else None}
        if exc.response is not None and hasattr(exc.response, "json"):  # REST: the body
            body = exc.response.json()["error"]
            seen["body"] = {"code": body["code"], "status": body["status"]}
            seen["reasons"] = [d.get("reason") for d in body.get("details", ()) if "reason" in d]
        else:
            seen["reasons"] = [d.reason for d in exc.details if hasattr(d, "reason")]
        return seen
    return {"class": None}


def create(client: Any) -> dict[str, Any]:
    from longreel_gapic.video_v1 import OperationMetadata, Video

    video_id = f"gapic-{uuid.uuid4().hex[:8]}"
    video = Video(title="Generated", plot="A plot")
    operation = client.create_video(video=video, video_id=video_id)
    video = operation.result(timeout=RESULT_TIMEOUT)
    metadata = operation.metadata
    content = b"".join(chunk.data for chunk in client.read_video_content(name=video.name))
    return {
        "content_sha256": hashlib.sha256(content).hexdigest(),
        "video_id": video_id,
        "operation": operation.operation.name,
        "result_type": type(video).__name__,
        "video": Video.to_dict(video),
        "metadata_type": type(metadata).__name__,
        "metadata": OperationMetadata.to_dict(metadata),
    }


def crud(client: Any) -> dict[str, Any]:
    """Three videos; get, list by pages of two, resume from a token, delete one."""
    from longreel_gapic.video_v1 import ListVideosRequest, Video

    made = [client.create_video(video=Video(title=f"Page {i}")) for i in range(3)]
    names = [op.result(timeout=RESULT_TIMEOUT).name for op in made]
    pages = list(client.list_videos(request=ListVideosRequest(page_size=2)).pages)
    token = pages[0].next_page_token
    resumed = client.list_videos(request=ListVideosRequest(page_size=2, page_token=token))
    deleted = client.delete_video(name=names[1])
    deleted.result(timeout=RESULT_TIMEOUT)
    return {
        "names": names,
        "got": client.get_video(name=names[0]).title,
        "pages": [[v.name for v in page.videos] for page in pages],
        "resumed": [v.name for v in resumed],
        "deleted_result_type": type(deleted.result()).__name__,
        "get_deleted": error(lambda: client.get_video(name=names[1])),
        "bad_create": error(lambda: client.create_video(video=Video(title=""))),
    }


def cancel(client: Any) -> dict[str, Any]:
    """google.api_core's REST operations client (AbstractOperationsClient, as
    the generated REST transport makes it from the service YAML) reads, lists
    and cancels an operation that is still running."""
    from longreel_gapic.video_v1 import OperationMetadata, Video

    started = client.create_video(video=Video(title="Cancel me"))
    name = started.operation.name
    operations = client.transport.operations_client
    before = operations.get_operation(name)
    listed = [op.name for op in operations.list_operations("operations", "")]
    operations.cancel_operation(name)
    after = operations.get_operation(name)
    metadata = OperationMetadata.deserialize(after.metadata.value)
    return {
        "operations_client": type(operations).__name__,
        "name": name,
        "before": {"name": before.name, "done": before.done},
        "listed": name in listed,
        "after": {"done": after.done, "error_code": after.error.code},
        "requested_cancellation": metadata.requested_cancellation,
        "result": error(lambda: started.result(timeout=RESULT_TIMEOUT)),
    }


def mixins(client: Any) -> dict[str, Any]:
    """The Operations methods the generator adds to the client itself (its
    "mixins", from the service YAML), on a finished operation."""
    from google.longrunning import operations_pb2
    from longreel_gapic.video_v1 import Video

    name = client.create_video(video=Video(title="Mixins")).operation.name
    waited = client.wait_operation(
        request=operations_pb2.WaitOperationRequest(name=name, timeout={"seconds": 30})
    )
    got = client.get_operation(request=operations_pb2.GetOperationRequest(name=name))
    listed = client.list_operations(
        request=operations_pb2.ListOperationsRequest(name="operations", page_size=1000)
    )
    return {
        "name": name,
        "waited": {"type": type(waited).__name__, "done": getattr(waited, "done", None)},
        "got": {"name": got.name, "done": got.done},
        "listed": name in [op.name for op in listed.operations],
    }


class SeenRequests(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Keeps each unary request the client sends, by method name."""

    def __init__(self) -> None:
        self.requests: dict[str, Any] = {}

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.requests[details.method.rsplit("/", 1)[-1]] = request
        return continuation(details, request)


def request_ids(endpoint: str) -> dict[str, Any]:
    """The request_id a create and a delete carry when the caller gives none:
    what makes retrying them safe (AIP-155), as the retry config assumes."""
    from longreel_gapic.video_v1 import VideoServiceClient
    from longreel_gapic.video_v1.services.video_service import transports
    from longreel_gapic.video_v1.types import Video

    seen = SeenRequests()
    channel = grpc.intercept_channel(grpc.insecure_channel(endpoint), seen)
    client = VideoServiceClient(transport=transports.VideoServiceGrpcTransport(channel=channel))
    video = client.create_video(video=Video(title="Idempotent")).result(timeout=RESULT_TIMEOUT)
    client.delete_video(name=video.name).result(timeout=RESULT_TIMEOUT)
    return {m: seen.requests[m].request_id for m in ("CreateVideo", "DeleteVideo")}


async def create_async(endpoint: str) -> dict[str, Any]:
    """The async twin: create, await the result, page through the videos. The
    client is made inside the loop, where its grpc.aio channel must live."""
    from longreel_gapic.video_v1 import ListVideosRequest, Video

    client = make_client("grpc_asyncio", endpoint)
    operation = await client.create_video(video=Video(title="Awaited"))
    video = await operation.result(timeout=RESULT_TIMEOUT)
    pager = await client.list_videos(request=ListVideosRequest(page_size=1))
    listed = [v.name async for v in pager]
    await client.transport.close()
    return {"result_type": type(video).__name__, "name": video.name, "listed": listed}


SCENARIOS = {"create": create, "crud": crud, "cancel": cancel, "mixins": mixins}
ASYNC_SCENARIOS = {"create": create_async}


def main(generated: str, scenario: str, transport: str, endpoint: str) -> None:
    sys.path.insert(0, generated)
    if scenario == "request_ids":
        print(json.dumps(request_ids(endpoint)))
    elif transport == "grpc_asyncio":
        print(json.dumps(asyncio.run(ASYNC_SCENARIOS[scenario](endpoint))))
    else:
        print(json.dumps(SCENARIOS[scenario](make_client(transport, endpoint))))


if __name__ == "__main__":
    main(*sys.argv[1:5])
