"""The store contract for OperationMetadata.title: an operation names its
video from the moment it exists, on every backend."""

from __future__ import annotations

from longreel.server.store import NewOperation, Outcome

LEASE = 10_000_000  # 10 s in microseconds
T0 = 1_800_000_000_000_000


def new_op(n: int, video: str = "film") -> NewOperation:
    return NewOperation(f"op{n}", video, f"videos/{video}", T0 + n, "queued")


async def run_job(store, operation_id: str, at: int) -> None:
    job = await store.claim_job("w", at, LEASE)
    assert job is not None and job.operation_id == operation_id
    await store.finish(operation_id, "w", at + 1, Outcome("done", response=b""))


async def test_a_creation_names_its_title_from_the_start(store):
    started = await store.start_create(new_op(1), "Night of the Lemmings", "plot")
    assert started.title == "Night of the Lemmings"
    read = await store.get_operation("op1")
    listed = await store.list_operations(None, 0, 10)
    assert read is not None and read.title == "Night of the Lemmings"
    assert [row.title for row in listed] == ["Night of the Lemmings"]


async def test_a_deletion_keeps_the_title_after_the_video_is_gone(store):
    await store.start_create(new_op(1), "Ephemeral", "")
    await run_job(store, "op1", T0 + 10)
    started = await store.start_delete(new_op(2))
    assert started.title == "Ephemeral"
    await run_job(store, "op2", T0 + 20)
    assert await store.get_video("film") is None
    ended = await store.get_operation("op2")
    assert ended is not None and ended.done and ended.title == "Ephemeral"


async def test_each_operation_keeps_the_title_of_its_own_video(store):
    await store.start_create(new_op(1, "first"), "First", "")
    await store.start_create(new_op(2, "second"), "Second", "")
    assert [row.title for row in await store.list_operations(None, 0, 10)] == [
        "First",
        "Second",
    ]
