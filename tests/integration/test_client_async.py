"""The asyncio client does what the sync one does."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.api_core import exceptions, retry_async
from google.protobuf import empty_pb2

from longreel.client import AsyncOperation, AsyncVideoClient
from longreel.video.v1 import video_service_pb2 as pb

from ..callers import ALICE, write_keys
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the client library, not the store, is under test


async def test_create_wait_list_and_delete(api):
    async with AsyncVideoClient(api.target) as client:
        op = await client.create_video(video={"title": "Async movie", "plot": "A plot"})
        assert isinstance(op, AsyncOperation)
        assert not await op.done()
        asyncio.get_running_loop().call_later(0.3, api.processor.gate.set)
        video = await op.result(timeout=30)
        assert video.title == "Async movie"
        assert [v.name async for v in await client.list_videos()] == [video.name]
        assert (await client.get_video(name=video.name)) == video
        deleted = await client.delete_video(name=video.name)
        assert await deleted.result(timeout=30) == empty_pb2.Empty()
        with pytest.raises(exceptions.NotFound):
            await client.get_video(name=video.name)


async def test_cancel_and_resume(api):
    async with AsyncVideoClient(api.target) as client:
        op = await client.create_video(video={"title": "Doomed"})
        await asyncio.get_running_loop().run_in_executor(None, api.processor.started.wait, 5)
        assert await op.cancel()
        resumed = await client.operation(name=op.name)
        with pytest.raises(exceptions.Cancelled):
            await resumed.result(timeout=30)
        assert await resumed.cancelled()
        listed = [o.name async for o in await client.list_operations(filter="error.code = 1")]
        assert listed == [op.name]


async def test_errors_are_api_core_exceptions(api):
    async with AsyncVideoClient(api.target) as client:
        with pytest.raises(exceptions.InvalidArgument):
            await client.create_video(video={"title": ""})
        with pytest.raises(exceptions.NotFound):
            await client.operation(name="nope")


async def test_a_failed_operation_raises_its_own_exception_class(start_server):
    from longreel.server.processor import PermanentError

    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = PermanentError("cannot render"), 1
    api = start_server(processor)
    async with AsyncVideoClient(api.target) as client:
        op = await client.create_video(video={"title": "Bad"})
        error = await op.exception(timeout=30)
    assert isinstance(error, exceptions.FailedPrecondition)


class LoseFirstCreateAnswer(grpc.aio.UnaryUnaryClientInterceptor):
    """Lets the first CreateVideo reach the server, then loses its answer."""

    def __init__(self) -> None:
        self.creates = 0

    async def intercept_unary_unary(self, continuation, details, request):
        call = await continuation(details, request)
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if method.endswith("/CreateVideo"):
            self.creates += 1
            if self.creates == 1:
                await call  # the server made the operation
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.aio.Metadata(),
                    grpc.aio.Metadata(),
                    details="connection dropped",
                )
        return call


async def test_a_retry_after_a_lost_answer_creates_one_video(api):
    lossy = LoseFirstCreateAnswer()
    channel = grpc.aio.insecure_channel(api.target, interceptors=[lossy])
    api.processor.gate.set()
    try:
        async with AsyncVideoClient(channel=channel) as client:
            video = await (await client.create_video(video={"title": "Only once"})).result(
                timeout=30
            )
            assert lossy.creates == 2
            assert [v.name async for v in await client.list_videos()] == [video.name]
    finally:
        await channel.close()


async def test_result_times_out_as_an_asyncio_future_does(api):
    async with AsyncVideoClient(api.target) as client:
        op = await client.create_video(video={"title": "Slow"})
        with pytest.raises(asyncio.TimeoutError):
            await op.result(timeout=0.5)


# --- the GAPIC shape, as the sync client has it ---


async def test_request_or_flattened_fields_but_not_both(api):
    api.processor.gate.set()
    async with AsyncVideoClient(api.target) as client:
        by_dict = await client.create_video(request={"video": {"title": "D"}, "video_id": "d"})
        by_fields = await client.create_video(video=pb.Video(title="F"), video_id="f")
        assert (await by_dict.result(timeout=30)).name == "videos/d"
        assert (await by_fields.result(timeout=30)).name == "videos/f"
        assert (await client.get_video(request={"name": "videos/f"})).title == "F"
        with pytest.raises(ValueError, match="individual field arguments"):
            await client.get_video(request={"name": "videos/f"}, name="videos/f")


async def test_per_call_metadata_reaches_the_server(start_server, make_backend, tmp_path):
    keyed = start_server(
        GatedProcessor(open_gate=True),
        backend=make_backend(),
        auth="api-keys",
        api_keys_file=write_keys(tmp_path / "keys"),
    )
    async with AsyncVideoClient(keyed.target) as anonymous:
        with pytest.raises(exceptions.Unauthenticated):
            await anonymous.list_videos()
        hers = [("authorization", f"Bearer {ALICE}")]
        op = await anonymous.create_video(video={"title": "Hers"}, metadata=hers)
        assert (await op.result(timeout=30)).title == "Hers"  # its waits carry no token
        listed = await anonymous.list_operations(metadata=hers)
        assert [o.name async for o in listed] == [op.name]


async def test_retry_per_call_replaces_the_clients(api):
    lossy = LoseFirstCreateAnswer()
    channel = grpc.aio.insecure_channel(api.target, interceptors=[lossy])
    try:
        async with AsyncVideoClient(channel=channel) as client:
            with pytest.raises(exceptions.ServiceUnavailable):
                await client.create_video(video={"title": "Lost"}, retry=None)
            quick = retry_async.AsyncRetry(
                predicate=retry_async.if_exception_type(exceptions.ServiceUnavailable)
            )
            lossy.creates = 0
            await client.create_video(video={"title": "Kept"}, retry=quick)
            assert lossy.creates == 2
    finally:
        await channel.close()


async def test_an_async_pager_resumes_from_its_page_token(api):
    api.processor.gate.set()
    async with AsyncVideoClient(client_options={"api_endpoint": api.target}) as client:
        for i in range(3):
            await (await client.create_video(video={"title": f"Film {i}"})).result(timeout=30)
        pager = await client.list_videos(request={"page_size": 2})
        pages = [page async for page in pager.pages]
        assert [len(page.videos) for page in pages] == [2, 1]
        first = await client.list_videos(request={"page_size": 2})
        rest = await client.list_videos(request={"page_token": first.next_page_token})
        assert [v.title async for v in rest] == ["Film 2"]
