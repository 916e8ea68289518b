"""The store contract for DeleteOperation of an unfinished operation: the
caller forgets it (google.longrunning: "no longer interested in the
result"), the work goes on, nothing is lost, and the record goes at the end."""

from __future__ import annotations

import pytest

from longreel.server.notify import operation_done
from longreel.server.store import AlreadyExists, NewOperation, NotFound, Outcome

LEASE = 10_000_000  # 10 s in microseconds
T0 = 1_800_000_000_000_000
ME = ""  # the principal of every call without authentication


def new_op(n: int, video: str = "film", request_id: str | None = None) -> NewOperation:
    return NewOperation(
        f"op{n}", video, f"videos/{video}", T0 + n, "queued",
        request_id=request_id, request_hash=b"h" if request_id else None,
    )  # fmt: skip


async def finish_job(store, operation_id: str, at: int) -> None:
    job = await store.claim_job("w", at, LEASE)
    assert job is not None and job.operation_id == operation_id
    await store.finish(operation_id, "w", at + 1, Outcome("done", response=b"made"))


async def test_a_forgotten_creation_is_hidden_at_once_and_still_makes_its_video(store):
    await store.start_create(new_op(1), "Kept", "")
    job = await store.claim_job("w", T0 + 10, LEASE)
    assert job is not None
    with store.signals.subscribe(operation_done("op1")) as woken:
        await store.delete_operation("op1", ME)
        assert await woken.wait(10)  # waiters wake, to find it gone
    assert await store.get_operation("op1", ME) is None
    assert await store.list_operations(None, 0, 10, ME) == []
    worker_view = await store.get_operation("op1")  # the worker still sees its job
    assert worker_view is not None and not worker_view.done
    assert not await store.heartbeat("op1", "w", T0 + 20, LEASE, 50, "half")  # not cancelled
    await store.finish("op1", "w", T0 + 30, Outcome("done", response=b"made"))
    made = await store.get_video("film", ME)
    assert made is not None and made.title == "Kept"
    assert await store.get_operation("op1") is None  # the record went with the job's end


async def test_a_forgotten_deletion_still_removes_its_video(store):
    await store.start_create(new_op(1), "Doomed", "")
    await finish_job(store, "op1", T0 + 10)
    await store.start_delete(new_op(2))
    await store.delete_operation("op2", ME)
    assert await store.get_operation("op2", ME) is None
    await finish_job(store, "op2", T0 + 20)
    assert await store.get_video("film") is None
    assert await store.get_operation("op2") is None


async def test_a_forgotten_operation_cannot_be_cancelled_or_deleted_again(store):
    await store.start_create(new_op(1), "T", "")
    await store.delete_operation("op1", ME)
    with pytest.raises(NotFound):
        await store.cancel_operation("op1", T0 + 5, b"cancelled", ME)
    with pytest.raises(NotFound):
        await store.delete_operation("op1", ME)
    job = await store.claim_job("w", T0 + 10, LEASE)
    assert job is not None and not job.cancel_requested


async def test_a_finished_operation_is_deleted_at_once(store):
    await store.start_create(new_op(1), "T", "")
    await finish_job(store, "op1", T0 + 10)
    await store.delete_operation("op1", ME)
    assert await store.get_operation("op1") is None
    with pytest.raises(NotFound):
        await store.delete_operation("op1", ME)


async def test_deleting_the_video_again_brings_a_forgotten_deletion_back(store):
    await store.start_create(new_op(1), "T", "")
    await finish_job(store, "op1", T0 + 10)
    await store.start_delete(new_op(2))
    await store.delete_operation("op2", ME)
    again = await store.start_delete(new_op(3))
    assert again.id == "op2"  # deleting twice is deleting once
    shown = await store.get_operation("op2", ME)
    assert shown is not None and not shown.done


async def test_a_repeat_of_a_forgotten_creation_answers_with_it_and_makes_no_second_video(store):
    # The server mints a new video id for each try of a create without one.
    await store.start_create(new_op(1, video="minted-a", request_id="r"), "T", "")
    await store.delete_operation("op1", ME)
    again = await store.start_create(new_op(2, video="minted-b", request_id="r"), "T", "")
    assert again.id == "op1"
    assert await store.get_operation("op1", ME) is not None  # visible again
    assert await store.get_operation("op2", ME) is None
    await finish_job(store, "op1", T0 + 100)
    assert [v.id for v in await store.list_videos(0, 10, ME)] == ["minted-a"]


async def test_a_forgotten_creation_keeps_its_video_id(store):
    await store.start_create(new_op(1), "T", "")
    await store.delete_operation("op1", ME)
    with pytest.raises(AlreadyExists):  # the video is still being made
        await store.start_create(new_op(2), "T", "")
