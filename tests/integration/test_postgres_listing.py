"""PostgreSQL's keyset pages against late commits: operations are numbered
from a sequence and no lock is held through a commit, so a page read while
an earlier-numbered create is still open waits for it (only so long)
rather than hand out a token past it, in either order."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from longreel.server.store import InvalidValue, NewOperation, StoreUnavailable, rules
from longreel.server.store.base import CREATE
from longreel.server.store.postgres import PostgresStore, listing
from longreel.server.store.postgres.queries import POSTGRES
from longreel.server.store.postgres.steps import run, start_create

from ..databases import fresh_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(postgres_database):
    return fresh_schema(postgres_database)


def new_op(name: str, now: int) -> NewOperation:
    return NewOperation(
        id=name, video_id=name, target=f"videos/{name}", now=now, status_message="queued"
    )


async def slow_create(conn: psycopg.AsyncConnection, name: str, now: int) -> None:
    """A create as a server runs it (the fused statement), left uncommitted."""
    await start_create(conn, new_op(name, now), name.title(), "")


async def slow_insert(conn: psycopg.AsyncConnection, name: str, now: int) -> None:
    """The other writer of operations (a delete's insert_operation), left uncommitted."""
    await run(conn, rules.insert_operation(POSTGRES, CREATE, new_op(name, now), name.title()))


@pytest.mark.parametrize("writer", [slow_create, slow_insert])
async def test_a_page_token_cannot_pass_a_create_that_commits_late(url, writer):
    """Two servers on one database: A's create takes the lower number and
    commits last, B's commits first; a page read in between waits for A's
    rather than hand out a token past it."""
    a, b = PostgresStore(url), PostgresStore(url)
    await a.open()
    await b.open()
    try:
        async with await psycopg.AsyncConnection.connect(url) as slow:
            async with slow.transaction():
                await writer(slow, "slow", a.now())  # numbered, not committed
                await b.start_create(new_op("fast", b.now()), "F", "")  # after it, committed
                page = asyncio.create_task(a.list_operations(None, 0, 1))
                await asyncio.sleep(0.3)
                assert not page.done()
            first = await page
        rest = await b.list_operations(None, first[-1].seq, 100)
    finally:
        await b.close()
        await a.close()
    assert [row.id for row in first] == ["slow"]
    assert [row.id for row in rest] == ["fast"]
    assert first[0].seq < rest[0].seq


async def test_a_newest_first_page_cannot_pass_over_a_create_that_commits_late(url):
    """Newest first, a late commit would land inside a page already read:
    between "fast" (after it, committed) and "older" (before it). The page
    waits for it, so no page skips it."""
    a, b = PostgresStore(url), PostgresStore(url)
    await a.open()
    await b.open()
    try:
        await b.start_create(new_op("older", b.now()), "O", "")
        async with await psycopg.AsyncConnection.connect(url) as slow:
            async with slow.transaction():
                await slow_create(slow, "slow", a.now())  # numbered, not committed
                await b.start_create(new_op("fast", b.now()), "F", "")
                page = asyncio.create_task(a.list_operations(None, 0, 2, newest_first=True))
                await asyncio.sleep(0.3)
                assert not page.done()
            first = await page
        rest = await b.list_operations(None, first[-1].seq, 100, newest_first=True)
    finally:
        await b.close()
        await a.close()
    assert [row.id for row in first] == ["fast", "slow"]
    assert [row.id for row in rest] == ["older"]


async def test_a_write_the_database_refuses_fails_alone_in_its_batch(url):
    """Creates of one batch are sent together (pipeline mode); one that
    PostgreSQL refuses (a NUL in a string) fails alone, the rest commit."""
    store = PostgresStore(url)
    await store.open()
    try:
        titles = [f"Film {n}" for n in range(12)]
        titles[5] = "bad\x00title"
        made = await asyncio.gather(
            *(
                store.start_create(new_op(f"v{n}", store.now()), t, "")
                for n, t in enumerate(titles)
            ),
            return_exceptions=True,
        )
        page = await store.list_operations(None, 0, 100)
    finally:
        await store.close()
    assert isinstance(made[5], InvalidValue)
    assert sorted(row.id for row in page) == sorted(f"v{n}" for n in range(12) if n != 5)


async def test_a_page_waits_for_a_transaction_only_so_long(url, monkeypatch):
    monkeypatch.setattr(listing, "LIST_WAIT", 0.2)
    store = PostgresStore(url)
    await store.open()
    try:
        await store.start_create(new_op("done", store.now()), "D", "")
        async with await psycopg.AsyncConnection.connect(url) as slow, slow.transaction():
            await slow_create(slow, "slow", store.now())
            with pytest.raises(StoreUnavailable):
                await store.list_operations(None, 0, 10)
        assert [row.id for row in await store.list_operations(None, 0, 10)] == ["done", "slow"]
    finally:
        await store.close()


async def test_creates_of_two_servers_do_not_wait_for_each_other(url):
    """No lock is held through a commit: a create commits while another
    server's create is numbered and still open."""
    a, b = PostgresStore(url), PostgresStore(url)
    await a.open()
    await b.open()
    try:
        async with await psycopg.AsyncConnection.connect(url) as slow, slow.transaction():
            await slow_create(slow, "slow", a.now())
            async with asyncio.timeout(5):
                await b.start_create(new_op("fast", b.now()), "F", "")
    finally:
        await b.close()
        await a.close()
