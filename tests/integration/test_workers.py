"""How jobs end when the work fails: retried, failed for good, or given up on."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

from longreel.common import logs
from longreel.server.processor import PermanentError
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, metadata, until, video, wait
from ..processors import GatedProcessor


def failing(error: BaseException, times: int) -> GatedProcessor:
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = error, times
    return processor


def worker_lines(caplog: pytest.LogCaptureFixture, count: int) -> list[logging.LogRecord]:
    """The worker's lines, once there are at least `count`: a waiter can see
    the operation done before the worker logs that it finished it."""
    lines = until(
        lambda: (
            len(found := [r for r in caplog.records if r.name == "longreel.server.workers"])
            >= count
            and found
        ),
        what=f"{count} lines of the worker",
    )
    return lines


def test_a_transient_failure_is_retried_and_the_operation_succeeds(
    make_backend, start_server, caplog
):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(logs.ContextFilter())
    api = start_server(failing(OSError("disk hiccup"), times=1), backend=make_backend())
    done = wait(api, create(api, title="Second time lucky").name, seconds=20)
    assert not done.HasField("error")
    assert video(done).title == "Second time lucky"
    assert api.processor.attempts == 2
    lines = worker_lines(caplog, 5)
    assert [(r.levelname, r.getMessage().split(" ")[0]) for r in lines] == [
        ("INFO", "claimed"),
        ("WARNING", f"{done.name.split('/')[1]}:"),  # attempt 1 failed
        ("INFO", "retrying"),
        ("INFO", "claimed"),
        ("INFO", "finished:"),
    ]
    assert {getattr(r, "operation", None) for r in lines} == {done.name}
    assert (lines[2].attempt, lines[4].outcome) == (2, "done")


def test_a_permanent_failure_ends_the_operation_at_once(make_backend, start_server):
    api = start_server(
        failing(PermanentError("the plot cannot be rendered"), times=1), backend=make_backend()
    )
    done = wait(api, create(api).name)
    assert done.done
    assert done.error.code == code_pb2.FAILED_PRECONDITION
    assert done.error.message == "the plot cannot be rendered"
    assert metadata(done).status_message == "failed: the plot cannot be rendered"
    assert api.processor.attempts == 1
    info = error_details_pb2.ErrorInfo()
    assert done.error.details[0].Unpack(info)
    assert info.reason == "PROCESSING_FAILED"


def test_a_job_that_keeps_failing_ends_with_an_error_after_its_attempts(make_backend, start_server):
    api = start_server(
        failing(RuntimeError("renderer crashed"), times=99), max_attempts=2, backend=make_backend()
    )
    done = wait(api, create(api, video_id="never").name, seconds=20)
    assert done.error.code == code_pb2.INTERNAL
    assert "failed after 2 attempts: renderer crashed" in done.error.message
    assert api.processor.attempts == 2


def test_a_failed_creation_leaves_no_video_behind(make_backend, start_server):
    api = start_server(failing(PermanentError("no"), times=1), backend=make_backend())
    wait(api, create(api, video_id="gone").name)
    with pytest.raises(grpc.RpcError) as err:
        api.videos.GetVideo(pb.GetVideoRequest(name="videos/gone"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_job_longer_than_its_lease_stays_with_its_worker(make_backend, start_server):
    import threading

    api = start_server(GatedProcessor(), lease_seconds=1.0, backend=make_backend())
    op = create(api, title="Longer than a lease")
    threading.Timer(3.0, api.processor.gate.set).start()
    done = wait(api, op.name, seconds=20)
    assert video(done).title == "Longer than a lease"
    assert api.processor.attempts == 1  # the heartbeat kept the lease; nobody started it again


def test_a_job_whose_workers_keep_dying_ends_after_its_attempts(make_backend, start_server, caplog):
    import asyncio

    from longreel.server import clock
    from longreel.server.store import NewOperation

    async def crash_twice() -> None:
        store = make_backend().store  # the database the server will use
        await store.open()
        now = clock.now()
        op = NewOperation("doomed-op", "doomed", "videos/doomed", now, "queued")
        await store.start_create(op, "Doomed", "")
        for attempt in range(2):  # two workers claim it and die holding expired leases
            await store.claim_job(f"dead-{attempt}", now + attempt, 1)
        await store.close()

    asyncio.run(crash_twice())
    caplog.set_level(logging.INFO)
    api = start_server(GatedProcessor(open_gate=True), max_attempts=2, backend=make_backend())
    done = wait(api, "operations/doomed-op")
    assert done.error.code == code_pb2.INTERNAL
    assert "gave up after 2 attempts" in done.error.message
    assert api.processor.attempts == 0
    taken, finished = worker_lines(caplog, 2)
    assert taken.levelname == "WARNING"
    assert taken.getMessage() == (
        "took over create of videos/doomed from dead-1, whose lease ran out (attempt 3)"
    )
    assert (finished.levelname, finished.outcome) == ("WARNING", "failed")


def test_a_delete_retried_after_a_failure_goes_through_a_cancel(make_backend, start_server):
    """A failed attempt may have removed some of the files: a cancel that
    stopped the retry would leave the video without its content."""
    from google.longrunning import operations_pb2

    api = start_server(GatedProcessor(open_gate=True), backend=make_backend())
    made = video(wait(api, create(api).name))
    api.processor.fail_with, api.processor.failures_left = OSError("disk hiccup"), 1
    op = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    until(
        lambda: (
            "retrying"
            in metadata(
                api.operations.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
            ).status_message
        ),
        what="the first attempt failing",
    )
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    done = wait(api, op.name)
    assert not done.HasField("error"), done.error
    assert api.processor.attempts == 3  # the create, the failed delete, the retry
    with pytest.raises(grpc.RpcError) as gone:
        api.videos.GetVideo(pb.GetVideoRequest(name=made.name))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
