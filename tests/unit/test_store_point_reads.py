"""Point reads many at once: on PostgreSQL those that wait together are sent
together (store/postgres/lane.py), and each must still get its own row, in
its own caller's scope, and fail alone."""

from __future__ import annotations

import asyncio
import random

from longreel.server.store import InvalidValue, NewOperation, Outcome

T0 = 1_800_000_000_000_000
OWNERS = ("alice", "bob")


def new_op(n: int) -> NewOperation:
    return NewOperation(
        id=f"op{n}", video_id=f"video-{n}", target=f"videos/video-{n}", now=T0 + n,
        status_message="queued", principal=OWNERS[n % 2],
    )  # fmt: skip


async def test_reads_at_once_each_get_their_own_row_in_their_callers_scope(store):
    await asyncio.gather(*(store.start_create(new_op(n), f"Title {n}", "") for n in range(40)))
    while job := await store.claim_job("w", T0 + 100, 10_000_000):  # videos show once made
        await store.finish(job.operation_id, "w", T0 + 200, Outcome("done", response=b""))
    asks = [
        (kind, n, who)
        for kind in ("operation", "video")
        for n in range(44)  # 40..43 were never made
        for who in (*OWNERS, None)
    ]
    random.Random(7).shuffle(asks)

    def read(kind: str, n: int, who: str | None):
        if kind == "operation":
            return store.get_operation(f"op{n}", who)
        return store.get_video(f"video-{n}", who)

    answers = await asyncio.gather(*(read(*ask) for ask in asks))
    for (kind, n, who), row in zip(asks, answers, strict=True):
        visible = n < 40 and who in (None, OWNERS[n % 2])
        if not visible:
            assert row is None, (kind, n, who, row)
        elif kind == "operation":
            assert (row.id, row.title) == (f"op{n}", f"Title {n}"), (n, who, row)
        else:
            assert (row.id, row.title) == (f"video-{n}", f"Title {n}"), (n, who, row)


async def test_a_read_the_database_refuses_fails_alone(store):
    await store.start_create(new_op(0), "Title 0", "")
    names = ["op0"] * 20 + ["op\x000"] + ["op0"] * 20
    answers = await asyncio.gather(
        *(store.get_operation(name, "alice") for name in names), return_exceptions=True
    )
    bad = answers.pop(20)
    # PostgreSQL refuses a NUL in a string; SQLite looks for it, and finds nothing.
    assert bad is None or isinstance(bad, InvalidValue), bad
    assert all(row is not None and row.id == "op0" for row in answers), answers
