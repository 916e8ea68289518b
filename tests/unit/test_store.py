"""The store contract, against a real SQLite file: transactions, idempotency, leases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from longreel.server.notify import JOBS_QUEUED, cancel_requested, operation_done
from longreel.server.store import (
    AlreadyExists,
    FinishedCounts,
    LeaseLost,
    NewOperation,
    NotFound,
    Outcome,
    QueueCounts,
    RequestIdReused,
)
from longreel.server.store.postgres.queries import POSTGRES
from longreel.server.store.sqlite import SQLiteStore
from longreel.server.store.sqlite.queries import SQLITE

LEASE = 10_000_000  # 10 s in microseconds
T0 = 1_800_000_000_000_000


def new_op(n: int, video: str | None = None, request_id: str | None = None, digest: bytes = b"h"):
    video = video or f"video-{n}"
    return NewOperation(
        id=f"op{n}", video_id=video, target=f"videos/{video}", now=T0 + n,
        status_message="queued", request_id=request_id,
        request_hash=digest if request_id else None,
    )  # fmt: skip


async def test_concurrent_writes_all_commit(store, make_store):
    rows = await asyncio.gather(*(store.start_create(new_op(i), f"T{i}", "") for i in range(300)))
    assert len({r.seq for r in rows}) == 300
    reopened = make_store()
    await reopened.open()
    try:
        listed = await reopened.list_operations(None, 0, 1000)
    finally:
        await reopened.close()
    assert sorted(r.id for r in listed) == sorted(f"op{i}" for i in range(300))


async def test_sqlite_group_commit_shares_transactions(tmp_path):
    store = SQLiteStore(tmp_path / "videos.db")
    await store.open()
    try:
        before = store._db.transactions
        await asyncio.gather(*(store.start_create(new_op(i), f"T{i}", "") for i in range(300)))
        assert store._db.transactions - before < 100  # far fewer commits than writes
    finally:
        await store.close()


async def test_one_failing_write_in_a_batch_leaves_the_others_alone(store):
    results = await asyncio.gather(
        store.start_create(new_op(1, video="same"), "A", ""),
        store.start_create(new_op(2, video="same"), "B", ""),
        store.start_create(new_op(3), "C", ""),
        return_exceptions=True,
    )
    assert isinstance(results[1], AlreadyExists)
    assert [await store.get_operation(f"op{i}") is not None for i in (1, 2, 3)] == [
        True,
        False,
        True,
    ]


async def test_a_request_id_replays_its_operation_or_refuses_another_request(store):
    first = await store.start_create(new_op(1, request_id="r"), "T", "")
    again = await store.start_create(new_op(2, request_id="r"), "T", "")
    assert again.id == first.id
    with pytest.raises(RequestIdReused):
        await store.start_create(new_op(3, request_id="r", digest=b"other"), "T", "")


async def test_a_leased_job_goes_to_one_worker_until_the_lease_expires(store):
    await store.start_create(new_op(1), "T", "")
    job = await store.claim_job("a", T0 + 10, LEASE)
    assert job is not None
    assert (job.operation_id, job.attempts, job.previous_owner) == ("op1", 1, None)
    assert await store.claim_job("b", T0 + 20, LEASE) is None
    taken = await store.claim_job("b", T0 + 10 + LEASE, LEASE)
    assert taken is not None
    assert (taken.attempts, taken.previous_owner) == (2, "a")
    with pytest.raises(LeaseLost):
        await store.finish("op1", "a", T0 + LEASE + 20, Outcome("done", response=b""))
    await store.finish("op1", "b", T0 + LEASE + 20, Outcome("done", response=b""))
    row = await store.get_operation("op1")
    assert row is not None
    assert row.done
    assert row.progress_percent == 100
    assert (await store.get_video("video-1")) is not None


async def test_heartbeat_extends_the_lease_and_reports_cancellation(store):
    await store.start_create(new_op(1), "T", "")
    await store.claim_job("a", T0 + 10, LEASE)
    assert await store.heartbeat("op1", "a", T0 + LEASE, LEASE, 40, "40%") is False
    assert await store.claim_job("b", T0 + LEASE + 20, LEASE) is None  # extended
    row = await store.cancel_operation("op1", T0 + LEASE + 30, b"cancelled")
    assert row.cancel_requested
    assert not row.done
    assert await store.heartbeat("op1", "a", T0 + LEASE + 40, LEASE, 50, "50%") is True


async def test_cancelling_an_unclaimed_job_ends_it_and_frees_the_video_id(store):
    await store.start_create(new_op(1, video="v"), "T", "")
    row = await store.cancel_operation("op1", T0 + 10, b"cancelled")
    assert row.done
    assert row.error == b"cancelled"
    assert await store.claim_job("a", T0 + 20, LEASE) is None
    await store.start_create(new_op(2, video="v"), "T", "")


async def test_a_released_job_is_claimed_again_without_counting_an_attempt(store):
    await store.start_create(new_op(1), "T", "")
    await store.claim_job("a", T0 + 10, LEASE)
    await store.release("op1", "a")
    job = await store.claim_job("b", T0 + 20, LEASE)
    assert job is not None
    assert (job.attempts, job.previous_owner) == (1, None)


async def test_a_job_retried_later_waits_for_its_time(store):
    await store.start_create(new_op(1), "T", "")
    await store.claim_job("a", T0 + 10, LEASE)
    await store.retry_later("op1", "a", T0 + 20, T0 + 1_000, "retrying")
    assert await store.claim_job("b", T0 + 999, LEASE) is None
    job = await store.claim_job("b", T0 + 1_000, LEASE)
    assert job is not None
    assert (job.attempts, job.previous_owner) == (2, None)


async def test_a_claim_says_whether_it_took_the_job_from_a_worker_whose_lease_ran_out(store):
    await store.start_create(new_op(1), "T", "")
    first = await store.claim_job("a", T0 + 10, LEASE)
    assert first is not None and not first.taken_over
    taken = await store.claim_job("b", T0 + 10 + LEASE, LEASE)
    assert taken is not None and taken.taken_over
    await store.release("op1", "b")
    handed_back = await store.claim_job("c", T0 + 20 + LEASE, LEASE)
    assert handed_back is not None and not handed_back.taken_over
    await store.retry_later("op1", "c", T0 + 30 + LEASE, T0 + 40 + LEASE, "retrying")
    retried = await store.claim_job("d", T0 + 40 + LEASE, LEASE)
    assert retried is not None and not retried.taken_over


async def test_operations_are_counted_by_state(store):
    assert await store.count_queue(T0) == QueueCounts(0, 0, None)
    assert await store.count_finished() == FinishedCounts(0, 0, 0)
    for n in range(1, 6):
        await store.start_create(new_op(n), f"T{n}", "")
    await store.claim_job("a", T0 + 10, LEASE)  # op1 runs on
    await store.claim_job("b", T0 + 10, LEASE)
    await store.finish("op2", "b", T0 + 20, Outcome("done", response=b""))
    await store.claim_job("c", T0 + 10, LEASE)
    await store.finish("op3", "c", T0 + 20, Outcome("failed", error=b"e", error_code=13))
    await store.cancel_operation("op4", T0 + 20, b"cancelled")  # unclaimed: ends at once
    assert await store.count_queue(T0 + 30) == QueueCounts(1, 1, oldest_queued=T0 + 5)
    # op1's worker stopped renewing its lease: the job waits for another.
    assert await store.count_queue(T0 + 10 + LEASE) == QueueCounts(2, 0, oldest_queued=T0 + 1)
    assert await store.count_finished() == FinishedCounts(done=1, failed=1, cancelled=1)


async def test_deleting_a_video_hides_it_only_once_the_delete_is_done(store):
    await store.start_create(new_op(1, video="v"), "T", "")
    await store.claim_job("a", T0, LEASE)
    await store.finish("op1", "a", T0 + 5, Outcome("done", response=b""))
    await store.start_delete(new_op(2, video="v"))
    assert await store.get_video("v") is not None
    assert (await store.start_delete(new_op(3, video="v"))).id == "op2"
    await store.claim_job("a", T0 + 10, LEASE)
    await store.finish("op2", "a", T0 + 20, Outcome("deleted", response=b""))
    assert await store.get_video("v") is None
    with pytest.raises(NotFound):
        await store.start_delete(new_op(4, video="v"))


async def test_a_delete_a_worker_started_is_not_ended_by_a_cancel(store):
    """Its worker may have removed the files before it stopped: a cancel that
    ended it would bring the video back without content."""
    await store.start_create(new_op(1, video="v"), "T", "")
    await store.claim_job("a", T0, LEASE)
    await store.finish("op1", "a", T0 + 5, Outcome("done", response=b""))
    await store.start_delete(new_op(2, video="v"))
    await store.claim_job("a", T0 + 10, LEASE)  # and then worker a stops
    row = await store.cancel_operation("op2", T0 + 10 + LEASE, b"cancelled")
    assert row.cancel_requested
    assert not row.done  # the delete goes on, in another worker
    job = await store.claim_job("b", T0 + 20 + LEASE, LEASE)
    assert job is not None
    assert (job.operation_id, job.cancel_requested) == ("op2", True)
    await store.finish("op2", "b", T0 + 30 + LEASE, Outcome("deleted", response=b""))
    assert await store.get_video("v") is None


async def test_a_cancelled_operation_can_be_deleted(store):
    await store.start_create(new_op(1), "T", "")
    await store.cancel_operation("op1", T0 + 5, b"cancelled")
    await store.delete_operation("op1")
    assert await store.get_operation("op1") is None
    with pytest.raises(NotFound):
        await store.delete_operation("op1")


async def test_the_page_token_secret_survives_a_reopen(store, make_store):
    secret = await store.secret()
    assert len(secret) == 32
    again = make_store()
    await again.open()
    try:
        assert await again.secret() == secret
    finally:
        await again.close()


async def test_videos_are_listed_in_the_order_they_came_into_existence(store):
    await store.start_create(new_op(1, video="slow"), "Slow", "")
    await store.start_create(new_op(2, video="fast"), "Fast", "")
    await store.claim_job("a", T0, LEASE)
    await store.claim_job("b", T0, LEASE)
    await store.finish("op2", "b", T0 + 5, Outcome("done", response=b""))
    first = await store.list_videos(0, 10)
    assert [v.id for v in first] == ["fast"]
    await store.finish("op1", "a", T0 + 9, Outcome("done", response=b""))
    # A caller who paged past "fast" still sees "slow", which appeared later.
    assert [v.id for v in await store.list_videos(first[-1].seq, 10)] == ["slow"]


async def test_videos_are_filtered_by_title(store):
    from longreel.server import filtering

    for i, title in enumerate(["Keep", "Drop", "Keep"]):
        await store.start_create(new_op(i, video=f"v{i}"), title, "")
        await store.claim_job("w", T0, LEASE)
        await store.finish(f"op{i}", "w", T0 + i, Outcome("done", response=b""))
    where = filtering.parse('title = "Keep"', {"title": filtering.FieldSpec("title", "string")})
    first = await store.list_videos(0, 1, where=where)
    assert [v.id for v in first] == ["v0"]
    assert [v.id for v in await store.list_videos(first[-1].seq, 10, where=where)] == ["v2"]
    assert len(await store.list_videos(0, 10)) == 3


async def test_a_write_after_close_is_unavailable_not_a_hang(make_store):
    from longreel.server.store import StoreUnavailable

    closed = make_store()
    await closed.open()
    await closed.close()
    with pytest.raises(StoreUnavailable):
        await closed.start_create(new_op(1), "T", "")


async def test_concurrent_twins_with_one_request_id_make_one_operation(store):
    twins = [new_op(i, video="twin", request_id="same") for i in range(20)]
    rows = await asyncio.gather(*(store.start_create(op, "T", "") for op in twins))
    assert len({r.id for r in rows}) == 1


async def test_workers_claiming_at_once_never_share_a_job(store):
    for i in range(30):
        await store.start_create(new_op(i), f"T{i}", "")
    claims = await asyncio.gather(*(store.claim_job(f"w{i}", T0 + 100, LEASE) for i in range(40)))
    taken = [c.operation_id for c in claims if c is not None]
    assert len(taken) == len(set(taken)) == 30


async def test_cancels_racing_heartbeats_and_finishes_never_deadlock(store):
    for i in range(20):
        await store.start_create(new_op(i), f"T{i}", "")
    jobs = [await store.claim_job(f"w{i}", T0, LEASE) for i in range(20)]
    assert all(jobs)

    async def beat(i: int) -> None:
        for step in range(10):
            try:
                await store.heartbeat(f"op{i}", f"w{i}", T0 + step, LEASE, step, "working")
            except LeaseLost:
                return
        await store.finish(f"op{i}", f"w{i}", T0 + 50, Outcome("done", response=b""))

    async def cancel(i: int) -> None:
        for step in range(5):
            await store.cancel_operation(f"op{i}", T0 + step, b"cancelled")

    # Opposite lock orders would deadlock here; the store must never fail a call.
    await asyncio.gather(*(beat(i) for i in range(20)), *(cancel(i) for i in range(20)))
    rows = [await store.get_operation(f"op{i}") for i in range(20)]
    assert all(row is not None and row.done and row.cancel_requested for row in rows)


def test_both_dialects_name_the_same_queries():
    """A rule asks for a query by name: each dialect must hold every one."""
    assert sorted(SQLITE.queries) == sorted(POSTGRES.queries)


# --- signals: sent by the store after the commit, once per key, never for a write undone ---

QUIET = 0.5  # seconds in which no (second) signal may come


async def test_a_committed_write_wakes_its_waiters_once_and_after_the_commit(store: Any) -> None:
    with store.signals.subscribe(JOBS_QUEUED) as queued:
        await store.start_create(new_op(1), "One", "")
        assert await queued.wait(10)
        assert not await queued.wait(QUIET)
    assert await store.claim_job("w", store.now(), LEASE) is not None
    with store.signals.subscribe(operation_done("op1")) as done:
        await store.finish("op1", "w", store.now(), Outcome("done", response=b""))
        assert await done.wait(10)
        row = await store.get_operation("op1")  # what woke us is committed
        assert row is not None and row.done
        assert not await done.wait(QUIET)


async def test_a_cancel_tells_the_worker_or_the_waiters_whichever_it_concerns(store: Any) -> None:
    await store.start_create(new_op(1), "Held", "")
    await store.start_create(new_op(2), "Queued", "")
    assert (await store.claim_job("w", store.now(), LEASE)).operation_id == "op1"
    with store.signals.subscribe(cancel_requested("op1")) as told:
        await store.cancel_operation("op1", store.now(), b"cancelled")
        assert await told.wait(10)
    with (
        store.signals.subscribe(operation_done("op2")) as done,
        store.signals.subscribe(cancel_requested("op2")) as not_told,
    ):
        await store.cancel_operation("op2", store.now(), b"cancelled")
        assert await done.wait(10)  # no worker held it: it ended at once
        assert not await not_told.wait(QUIET)


async def test_a_refused_write_sends_no_signal(store: Any) -> None:
    with store.signals.subscribe(JOBS_QUEUED) as queued:
        await store.start_create(new_op(1, video="same"), "First", "")
        assert await queued.wait(10)  # PostgreSQL's may come after the call returns
        with pytest.raises(AlreadyExists):
            await store.start_create(new_op(2, video="same"), "Second", "")
        assert not await queued.wait(QUIET)
    assert await store.claim_job("w", store.now(), LEASE) is not None
    with store.signals.subscribe(operation_done("op1")) as done:
        with pytest.raises(LeaseLost):
            await store.finish("op1", "not-the-owner", store.now(), Outcome("x", response=b""))
        assert not await done.wait(QUIET)


async def test_a_write_undone_in_a_shared_transaction_sends_no_signal(store: Any) -> None:
    """Twins in one group commit: the one refused is rolled back, signal and all."""
    with store.signals.subscribe(operation_done("op1")) as done:
        await store.start_create(new_op(1), "One", "")
        assert await store.claim_job("w", store.now(), LEASE) is not None
        results = await asyncio.gather(
            store.finish("op1", "w", store.now(), Outcome("done", response=b"")),
            store.finish("op1", "w", store.now(), Outcome("done", response=b"")),
            return_exceptions=True,
        )
        assert sum(isinstance(r, LeaseLost) for r in results) == 1
        assert await done.wait(10)
        assert not await done.wait(QUIET)


async def test_operations_list_newest_first_in_pages_within_the_callers_scope(store):
    for n in range(7):
        await store.start_create(new_op(n), f"T{n}", "")
    theirs = NewOperation(
        id="theirs", video_id="v-theirs", target="videos/v-theirs", now=T0 + 99,
        status_message="queued", principal="someone else",
    )  # fmt: skip
    await store.start_create(theirs, "Not yours", "")
    seen, after = [], 0
    while page := await store.list_operations(None, after, 3, None, newest_first=True):
        seen += [row.id for row in page]
        after = page[-1].seq
    assert seen == ["theirs"] + [f"op{n}" for n in reversed(range(7))]
    mine = await store.list_operations(None, 0, 100, "", newest_first=True)
    assert "theirs" not in [row.id for row in mine]
    oldest = await store.list_operations(None, 0, 100)
    assert [row.id for row in oldest] == seen[::-1]
