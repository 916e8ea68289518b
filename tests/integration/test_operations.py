"""google.longrunning.Operations: list, filter, cancel, delete and wait."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from google.rpc import code_pb2

from longreel.server.notify import JOBS_QUEUED, cancel_requested
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, metadata, until, video, wait, waiters

NEWEST_FIRST = (("x-longreel-order-by", "create_time desc"),)


def list_all(api, page_size, filter_="", order=()):
    names, token, pages = [], "", 0
    while True:
        page = api.operations.ListOperations(
            operations_pb2.ListOperationsRequest(
                name="operations", filter=filter_, page_size=page_size, page_token=token
            ),
            metadata=order,
        )
        pages += 1
        assert len(page.operations) <= page_size
        names += [op.name for op in page.operations]
        token = page.next_page_token
        if not token:
            return names, pages


def test_list_pages_through_25_operations_without_duplicates_or_gaps(start_server):
    api = start_server(workers=0)
    created = [create(api, title=f"Film {i}").name for i in range(25)]
    names, pages = list_all(api, page_size=10)
    assert names == created
    assert pages == 3


def test_newest_first_lists_the_latest_first_in_pages_on_each_store(api):
    created = [create(api, title=f"Film {i}").name for i in range(25)]
    names, pages = list_all(api, page_size=10, order=NEWEST_FIRST)
    assert names == created[::-1]
    assert pages == 3
    api.processor.gate.set()
    for name in created:
        wait(api, name)
    assert list_all(api, 7, "done = true", NEWEST_FIRST)[0] == created[::-1]
    assert list_all(api, 10, "", (("x-longreel-order-by", " create_time  ASC"),))[0] == created


def test_a_newest_first_page_token_serves_that_order_only(api):
    for i in range(3):
        create(api, title=f"Film {i}")
    call = operations_pb2.ListOperationsRequest(name="operations", page_size=1)
    first = api.operations.ListOperations(call, metadata=NEWEST_FIRST)
    call.page_token = first.next_page_token
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(call)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in err.value.details()


@pytest.mark.parametrize("order", ["create_time sideways", "update_time desc", "seq"])
def test_an_order_the_server_does_not_know_is_an_invalid_argument(api, order):
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(
            operations_pb2.ListOperationsRequest(), metadata=(("x-longreel-order-by", order),)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "order_by" in err.value.details()


def test_filter_done_true_lists_only_finished_operations(api):
    first = create(api, title="Finished")
    api.processor.gate.set()
    wait(api, first.name)
    api.processor.gate.clear()
    second = create(api, title="Running")
    assert list_all(api, 10, "done = true")[0] == [first.name]
    assert list_all(api, 10, "done = false")[0] == [second.name]
    assert list_all(api, 10, "NOT done = true")[0] == [second.name]
    assert list_all(api, 10, 'metadata.verb = "create" AND done = false')[0] == [second.name]


@pytest.mark.parametrize(
    "filter_",
    [
        "bogus = 1",
        "done = maybe",
        "done >",
        "done < true",
        "(done = true",
        "error.code = x",
        "error.code = 99999999999999999999",
        "-" * 50 + "done = true",
        "NOT " * 50 + "done = true",
        "(" * 50 + "done = true" + ")" * 50,
        "x" * 1001,
        'metadata.target = "a\x00b"',
    ],
)
def test_a_bad_filter_is_an_invalid_argument(api, filter_):
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(operations_pb2.ListOperationsRequest(filter=filter_))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter" in err.value.details()


def test_cancel_a_running_create_ends_it_cancelled_and_leaves_no_video(api):
    op = create(api, video_id="doomed")
    assert api.processor.started.wait(5)
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    done = wait(api, op.name)
    assert done.done
    assert done.error.code == code_pb2.CANCELLED
    assert metadata(done).requested_cancellation
    with pytest.raises(grpc.RpcError) as err:
        api.videos.GetVideo(pb.GetVideoRequest(name="videos/doomed"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # The id is free again: the cancelled creation left nothing behind.
    api.processor.gate.set()
    assert video(wait(api, create(api, video_id="doomed").name)).name == "videos/doomed"


def test_cancel_before_any_worker_took_the_job_ends_it_at_once(start_server):
    api = start_server(workers=0)
    op = create(api)
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    now = api.operations.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
    assert now.done
    assert now.error.code == code_pb2.CANCELLED


def test_cancel_of_a_finished_operation_leaves_its_result(api):
    api.processor.gate.set()
    done = wait(api, create(api).name)
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=done.name))
    after = api.operations.GetOperation(operations_pb2.GetOperationRequest(name=done.name))
    assert after.done
    assert not after.HasField("error")
    assert video(after) == video(done)


def test_cancel_of_a_running_delete_keeps_the_video(api):
    api.processor.gate.set()
    made = video(wait(api, create(api).name))
    api.processor.gate.clear()
    op = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    assert wait(api, op.name).error.code == code_pb2.CANCELLED
    assert api.videos.GetVideo(pb.GetVideoRequest(name=made.name)).name == made.name


def test_delete_operation_forgets_a_finished_one(api):
    api.processor.gate.set()
    done = wait(api, create(api).name)
    api.operations.DeleteOperation(operations_pb2.DeleteOperationRequest(name=done.name))
    with pytest.raises(grpc.RpcError) as err:
        api.operations.GetOperation(operations_pb2.GetOperationRequest(name=done.name))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_delete_operation_of_a_running_one_forgets_it_but_the_video_is_still_made(api):
    running = create(api, title="Unwatched")
    target = metadata(running).target
    waited = api.operations.WaitOperation.future(
        operations_pb2.WaitOperationRequest(name=running.name, timeout={"seconds": 30})
    )
    until(lambda: waiters(api, running.name), what="the WaitOperation to subscribe")
    api.operations.DeleteOperation(operations_pb2.DeleteOperationRequest(name=running.name))
    with pytest.raises(grpc.RpcError) as err:
        waited.result()  # woken at once, to find it gone
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        api.operations.GetOperation(operations_pb2.GetOperationRequest(name=running.name))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert running.name not in list_all(api, 100)[0]
    api.processor.gate.set()  # the work was never cancelled: it ends as it would have
    made = until(lambda: _video_or_none(api, target), what="the video to be made")
    assert made.title == "Unwatched"


def _video_or_none(api, name: str) -> pb.Video | None:
    try:
        return api.videos.GetVideo(pb.GetVideoRequest(name=name))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None


def test_wait_returns_the_operation_as_it_stands_when_its_timeout_passes(api):
    op = create(api)
    started = time.monotonic()
    still = api.operations.WaitOperation(
        operations_pb2.WaitOperationRequest(
            name=op.name, timeout=duration_pb2.Duration(nanos=300_000_000)
        ),
        timeout=10,
    )
    assert not still.done
    assert 0.25 <= time.monotonic() - started < 5  # returned at its timeout, not an error


def test_wait_answers_before_the_callers_deadline(api):
    op = create(api)
    still = api.operations.WaitOperation(
        operations_pb2.WaitOperationRequest(
            name=op.name, timeout=duration_pb2.Duration(seconds=30)
        ),
        timeout=1.5,
    )
    assert not still.done  # an answer, not DEADLINE_EXCEEDED


def test_wait_wakes_when_the_operation_finishes(api):
    op = create(api)
    assert api.processor.started.wait(5)
    future = api.operations.WaitOperation.future(
        operations_pb2.WaitOperationRequest(
            name=op.name, timeout=duration_pb2.Duration(seconds=30)
        ),
        timeout=40,
    )
    until(lambda: waiters(api, op.name), what="the wait subscribed")
    assert not future.done()
    api.processor.gate.set()
    assert future.result(timeout=10).done


def test_filtered_lists_page_without_duplicates_or_gaps(start_server):
    api = start_server(workers=0)
    created = [create(api, title=f"Film {i}").name for i in range(12)]
    for name in created[::2]:
        api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=name))
    names, pages = list_all(api, page_size=4, filter_="error.code = 1")
    assert names == created[::2]
    assert pages == 2
    assert list_all(api, page_size=4, filter_="done = false")[0] == created[1::2]


def test_wait_without_a_timeout_returns_when_done(api):
    op = create(api)
    future = api.operations.WaitOperation.future(
        operations_pb2.WaitOperationRequest(name=op.name), timeout=30
    )
    api.processor.gate.set()
    assert future.result(timeout=30).done


def test_wait_with_an_enormous_timeout_is_cut_to_the_deadline(api):
    op = create(api)
    request = operations_pb2.WaitOperationRequest(
        name=op.name, timeout=duration_pb2.Duration(seconds=10**14)
    )
    still = api.operations.WaitOperation(request, timeout=1.5)
    assert not still.done


def test_wait_is_woken_by_a_cancel_before_any_worker_took_the_job(start_server):
    api = start_server(workers=0)
    op = create(api)
    future = api.operations.WaitOperation.future(
        operations_pb2.WaitOperationRequest(
            name=op.name, timeout=duration_pb2.Duration(seconds=30)
        ),
        timeout=40,
    )
    until(lambda: waiters(api, op.name), what="the wait subscribed")
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    assert future.result(timeout=10).error.code == code_pb2.CANCELLED


def test_a_create_and_a_cancel_at_the_server_wake_each_waiter_once(api: Any) -> None:
    """Handlers send nothing themselves: the store's one signal per commit is
    all a waiter in the server's own process hears (on PostgreSQL, once over
    LISTEN; never a local wake-up and then the same one again)."""
    signals = api.server.server.store.signals

    async def wakes(key: str, act: Any) -> tuple[Any, int]:
        with signals.subscribe(key) as heard:
            result = await asyncio.to_thread(act)
            count = 0
            while await heard.wait(0.5 if count else 10):
                count += 1
            return result, count

    made, queued = api.server.call(wakes(JOBS_QUEUED, lambda: create(api, title="Once")))
    assert queued == 1
    operation_id = made.name.split("/")[1]
    assert api.processor.started.wait(10)
    cancel = operations_pb2.CancelOperationRequest(name=made.name)
    _, told = api.server.call(
        wakes(cancel_requested(operation_id), lambda: api.operations.CancelOperation(cancel))
    )
    assert told == 1
