"""Point reads many at once (on PostgreSQL, on the read lane's own
connections: store/postgres/lane.py): each gets its own row, in its own
caller's scope, fails alone, and none waits for ever."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest

from longreel.server.store import InvalidValue, NewOperation, Outcome, StoreUnavailable
from longreel.server.store.postgres import lane
from longreel.server.store.postgres.lane import ReadLane

from .test_store import T0
from .test_store import new_op as unowned_op

OWNERS = ("alice", "bob")


def new_op(n: int) -> NewOperation:
    return dataclasses.replace(unowned_op(n), principal=OWNERS[n % 2])


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


async def test_a_read_the_database_refuses_fails_alone(store, store_kind):
    await store.start_create(new_op(0), "Title 0", "")
    names = ["op0"] * 20 + ["op\x000"] + ["op0"] * 20
    answers = await asyncio.gather(
        *(store.get_operation(name, "alice") for name in names), return_exceptions=True
    )
    bad = answers.pop(20)
    # PostgreSQL refuses a NUL in a string; SQLite looks for it, and finds nothing.
    if store_kind == "postgres":
        assert isinstance(bad, InvalidValue), bad
    else:
        assert bad is None, bad
    assert all(row is not None and row.id == "op0" for row in answers), answers


# The lane itself, on a real database: the ways a read could be left waiting.

SELECT = "SELECT %(n)s::int"


async def fetch_one(read_lane: ReadLane, sql: str, params: dict[str, int]) -> Any:
    async def work(conn: Any) -> Any:
        return await (await conn.execute(sql, params)).fetchone()

    return await read_lane.read(work)


async def _reads_in_a_row(read_lane: ReadLane, count: int) -> list[int]:
    got = []
    for n in range(count):
        (value,) = await fetch_one(read_lane, SELECT, {"n": n})
        got.append(value)
    return got


@pytest.mark.parametrize(("size", "callers"), [(1, 1), (6, 6), (6, 64)])
async def test_callers_that_read_again_at_once_are_all_answered(postgres_database, size, callers):
    read_lane = ReadLane(postgres_database, size=size)
    await read_lane.open()
    try:
        loops = (_reads_in_a_row(read_lane, 50) for _ in range(callers))
        results = await asyncio.wait_for(asyncio.gather(*loops), 30)
    finally:
        await read_lane.close()
    assert results == [list(range(50))] * callers


async def test_a_read_no_connection_takes_in_time_fails_as_unavailable(
    postgres_database, monkeypatch
):
    monkeypatch.setattr(lane, "POOL_WAIT", 0.3)
    read_lane = ReadLane(postgres_database, size=1)
    await read_lane.open()
    try:
        hung = asyncio.ensure_future(fetch_one(read_lane, "SELECT pg_sleep(2)", {}))
        await asyncio.sleep(0.05)  # the one connection is busy with it
        with pytest.raises(StoreUnavailable, match="no connection"):
            await fetch_one(read_lane, SELECT, {"n": 1})
        assert await hung == ("",)  # the read already on its way is answered, however long
        assert await fetch_one(read_lane, SELECT, {"n": 2}) == (2,)
    finally:
        await read_lane.close()
