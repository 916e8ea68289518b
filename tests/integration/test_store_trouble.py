"""A store that cannot take writes: callers get UNAVAILABLE with a clear message,
health says NOT_SERVING, and everything recovers when the store does."""

from __future__ import annotations

import sqlite3
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.server.store.sqlite.db import Database

from ..helpers import create, details, until
from ..processors import GatedProcessor


def health_status(api) -> int:
    stub = health_pb2_grpc.HealthStub(api.channel)
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_a_locked_database_is_unavailable_and_not_serving_until_released(start_server, tmp_path):
    api = start_server(GatedProcessor(open_gate=True), workers=0)
    locker = sqlite3.connect(tmp_path / "data" / "videos.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with pytest.raises(grpc.RpcError) as err:
            create(api, title="Blocked")
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "store is unavailable" in err.value.details()
        assert details(err.value)["RetryInfo"].retry_delay.seconds >= 1
        until(
            lambda: health_status(api) == health_pb2.HealthCheckResponse.NOT_SERVING,
            20,
            "health never said NOT_SERVING",
        )
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    until(
        lambda: health_status(api) == health_pb2.HealthCheckResponse.SERVING,
        timeout=20,
        what="health back to SERVING",
    )
    assert create(api, title="After").name


async def test_a_point_read_that_finds_the_database_busy_waits_on_a_reader_thread(tmp_path):
    """read_row runs on the event loop with no busy timeout; a lock it meets
    (a WAL recovery in another process) sends it to a thread that may wait."""
    db = Database(tmp_path / "videos.db")
    db.open()
    loop_thread = threading.current_thread()
    threads = []

    def read(conn: sqlite3.Connection) -> int:
        threads.append(threading.current_thread())
        if threading.current_thread() is loop_thread:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise busy
        return conn.execute("SELECT count(*) FROM operations").fetchone()[0]

    try:
        assert await db.read_row(read) == 0
        assert threads[0] is loop_thread and threads[1] is not loop_thread
        assert await db.read_row(lambda conn: conn.execute("SELECT 7").fetchone()[0]) == 7
    finally:
        db.close()
