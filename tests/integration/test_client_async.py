"""The asyncio client does what the sync one does."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.api_core import exceptions
from google.protobuf import empty_pb2

from longreel.client import AsyncOperation, AsyncVideoClient

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

    from ..processors import GatedProcessor

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
