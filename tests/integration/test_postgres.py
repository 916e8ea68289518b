"""What only PostgreSQL has to get right: one clock for every machine, a schema
migrated by many processes at once, and outages (no database at start,
connections killed mid-run). Pages against late commits: test_postgres_listing.py."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from importlib import resources

import grpc
import psycopg
import pytest
from google.longrunning import operations_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.server import clock
from longreel.server.app import VideoServer
from longreel.server.config import Config
from longreel.server.notify import JOBS_QUEUED, operation_done
from longreel.server.store import (
    AlreadyExists,
    NewOperation,
    Outcome,
    postgres,
)
from longreel.server.store.postgres import PostgresStore
from longreel.server.store.postgres.clock import monotonic_us
from longreel.server.store.postgres.db import CHANNEL, MIGRATION_LOCK, Database
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..conftest import ServerThread
from ..databases import fresh_database, fresh_schema
from ..helpers import create, details, until, video, wait, waiters
from ..processors import GatedProcessor

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
MIGRATIONS = [
    f for f in resources.files(postgres).joinpath("migrations").iterdir() if f.name.endswith(".sql")
]
pytestmark = pytest.mark.postgres  # every test here is about PostgreSQL

SECOND = 1_000_000
HOUR = 3600 * SECOND
LEASE = 10 * SECOND
NOWHERE = "postgresql://postgres@127.0.0.1:1/longreel?connect_timeout=2"


@pytest.fixture
def url(postgres_database):
    return fresh_schema(postgres_database)


def new_op(name: str, now: int) -> NewOperation:
    return NewOperation(
        id=name, video_id=name, target=f"videos/{name}", now=now, status_message="queued"
    )


def wall_clock_ahead(monkeypatch, by_us: int) -> None:
    """This machine's wall clock jumps ahead (NTP step, a bad RTC)."""
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + by_us * 1000)
    assert abs(clock.now() - real() // 1000 - by_us) < SECOND


def database_time(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_worker_whose_clock_runs_an_hour_ahead_leaves_a_live_lease_alone(url, monkeypatch):
    here, there = PostgresStore(url), PostgresStore(url)
    await here.open()
    await there.open()
    try:
        await here.start_create(new_op("v1", here.now()), "Title", "")
        assert await here.claim_job("here", here.now(), LEASE) is not None
        wall_clock_ahead(monkeypatch, HOUR)
        # By the wall clock the lease ran out long ago; by the database's it did not.
        assert await there.claim_job("there", there.now(), LEASE) is None
    finally:
        await there.close()
        await here.close()


async def test_the_store_tells_the_time_by_the_database_server(url, monkeypatch):
    store = PostgresStore(url, local_clock=lambda: monotonic_us() + HOUR)
    await store.open()
    try:
        wall_clock_ahead(monkeypatch, -HOUR)
        assert abs(store.now() - database_time(url)) < SECOND
    finally:
        await store.close()


async def test_processes_starting_together_migrate_the_schema_once(url):
    databases = [Database(url, pool_size=1) for _ in range(8)]
    try:
        await asyncio.gather(*(db.open() for db in databases))
    finally:
        await asyncio.gather(*(db.close() for db in databases))
    with psycopg.connect(url) as conn:
        versions = [
            v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        ]
        counters = conn.execute("SELECT count(*) FROM counters").fetchone()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert counters == (1,)  # the seed row went in once (operations number from a sequence)


def test_a_server_without_its_database_says_so_and_exits():
    for program in ("longreel.server", "longreel.server.worker_main"):
        result = subprocess.run(
            [sys.executable, "-m", program, "--database", NOWHERE],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1, result
        assert "cannot open the database" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def kill_backends(url: str) -> list[int]:
    """Terminate every other connection to the database, as a failover or restart would."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pids


async def test_point_reads_go_on_after_their_connections_are_killed():
    with fresh_database() as own:  # its own database: every connection to it is ours
        store = PostgresStore(own)
        await store.open()
        try:
            await store.start_create(new_op("v1", store.now()), "Title", "")
            reads = [store.get_operation("v1") for _ in range(20)]  # every lane connection
            assert all(row is not None for row in await asyncio.gather(*reads))
            assert await asyncio.to_thread(kill_backends, own)
            reads = [store.get_operation("v1") for _ in range(20)]
            assert all(row is not None for row in await asyncio.gather(*reads))
        finally:
            await store.close()


def until_listening(url: str, killed: list[int]) -> None:
    """Until a new listener (not one of the killed, which may linger a moment) is in."""
    with psycopg.connect(url, autocommit=True) as conn:
        until(
            lambda: conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE 'LISTEN %%' AND NOT pid = ANY(%s)",
                (killed,),
            ).fetchone(),
            what="a new listener",
        )


def test_work_and_waiters_survive_their_connections_being_killed(start_server):
    processor = GatedProcessor()
    with fresh_database() as own:  # its own database: every connection to it is ours
        api = start_server(processor, database=own, workers=1, lease_seconds=2)
        name = create(api, title="Survivor").name
        assert processor.started.wait(10)
        answer: dict[str, operations_pb2.Operation] = {}
        waiter = threading.Thread(target=lambda: answer.update(op=wait(api, name, 30)))
        waiter.start()
        until(lambda: waiters(api, name), what="the waiter subscribed")
        killed = kill_backends(own)
        assert len(killed) >= 2  # the pool's and the listener's
        # No caller pays for a dead connection: what failed on one before it
        # began runs again on the next, writes and reads alike.
        assert create(api, title="Right after").name
        for _ in range(5):
            api.operations.GetOperation(operations_pb2.GetOperationRequest(name=name), timeout=5)
        # The listener comes back and wakes every subscriber to re-read what it
        # missed, the running job's cancel watcher too: that is no cancellation.
        until_listening(own, killed)
        time.sleep(0.2)
        processor.gate.set()
        waiter.join(35)
        assert answer["op"].done, answer
        assert video(answer["op"]).title == "Survivor"
        assert create(api, title="After").name  # the pool found new connections
        api.server.stop()  # before its database goes


def test_a_server_waiting_for_its_store_is_live_but_not_ready_until_migrated(tmp_path):
    """Health answers NOT_SERVING (and calls UNAVAILABLE) while the schema
    migration waits on another process's lock; SERVING once it is done."""
    with fresh_database() as own, psycopg.connect(own, autocommit=True) as migrating:
        migrating.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        config = Config(listen="127.0.0.1:0", data_dir=tmp_path, database=own, workers=0)
        thread = ServerThread(config, GatedProcessor())
        thread.thread.start()
        try:
            thread.server = VideoServer(config, processor=thread.processor)
            thread.call(thread.server.listen())
            opening = asyncio.run_coroutine_threadsafe(thread.server.open(), thread.loop)
            with grpc.insecure_channel(f"127.0.0.1:{thread.server.port}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                check = health_pb2.HealthCheckRequest()
                assert health.Check(check, timeout=5).status == NOT_SERVING
                videos = pb_grpc.VideoServiceStub(channel)
                with pytest.raises(grpc.RpcError) as refused:
                    videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Early")))
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                assert details(refused.value)["ErrorInfo"].reason == "STARTING"
                assert not opening.done()

                migrating.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
                opening.result(timeout=30)
                assert health.Check(check, timeout=5).status == SERVING
                request = pb.CreateVideoRequest(video=pb.Video(title="On time"))
                assert videos.CreateVideo(request, timeout=10).name
        finally:
            thread.stop()


def test_a_server_stopped_while_its_migration_waits_exits_at_once():
    with fresh_database() as own, psycopg.connect(own, autocommit=True) as migrating:
        migrating.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        server = subprocess.Popen(
            [sys.executable, "-m", "longreel.server", "--database", own, "--no-workers",
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not migrating.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone():
                assert time.monotonic() < deadline, "the server never waited for the migration"
                assert server.poll() is None, server.communicate()
                time.sleep(0.05)
            server.send_signal(signal.SIGTERM)
            out, err = server.communicate(timeout=30)
        finally:
            server.kill()
        assert server.returncode == 0, err
        assert "Traceback" not in err
        assert "listening" not in out  # it never said it was ready


async def test_postgres_sends_one_notification_per_key_per_commit(postgres_database: str) -> None:
    url = fresh_schema(postgres_database)
    store = PostgresStore(url)
    await store.open()
    heard: list[str] = []
    marked = asyncio.Event()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {CHANNEL}")

        async def collect() -> None:
            async for note in listener.notifies():
                heard.append(note.payload)
                if note.payload == "marker":
                    marked.set()

        collecting = asyncio.create_task(collect())
        try:
            await store.start_create(new_op("op1", store.now()), "One", "")
            with pytest.raises(AlreadyExists):
                await store.start_create(
                    NewOperation("op2", "op1", "videos/op1", store.now(), "queued"), "Refused", ""
                )
            assert await store.claim_job("w", store.now(), LEASE) is not None
            await store.finish("op1", "w", store.now(), Outcome("done", response=b""))
            # Notifications arrive in commit order: a marker committed after the
            # store's last commit arrives after any second notification would.
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
                await other.execute("SELECT pg_notify(%s, 'marker')", (CHANNEL,))
            await asyncio.wait_for(marked.wait(), 10)
        finally:
            collecting.cancel()
            await asyncio.gather(collecting, return_exceptions=True)
            await store.close()
    assert heard == [JOBS_QUEUED, operation_done("op1"), "marker"]
