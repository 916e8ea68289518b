"""Cases 5 and 6: history does not slow the service down, and pending work
lives in the store, not in memory.

The store is seeded in bulk (straight into SQLite, in one transaction), not
through RPCs: a million creates would take the benchmark's whole budget.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2, empty_pb2

from .harness import Result, ratio_at_most, rss_mb, running

IN_FLIGHT = 16
PAGE = 50
DEEP = 10_000  # rows before the deep page


def seed(data: Path, operations: int, pending_share: float) -> None:
    """Start a server once so it creates the schema, then add rows directly."""
    with running("--data-dir", str(data), "--no-workers"):
        pass
    response = any_pb2.Any()
    response.Pack(empty_pb2.Empty())
    done_bytes = response.SerializeToString()
    now = time.time_ns() // 1000
    pending_every = int(1 / pending_share) if pending_share else 0
    conn = sqlite3.connect(data / "videos.db")
    try:
        with conn:
            rows = (
                (f"seed{n:08d}", "create", f"videos/seed{n:08d}", f"seed{n:08d}",
                 0 if pending_every and n % pending_every == 0 else 1,
                 "done", now, now, now, done_bytes)
                for n in range(operations)
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO operations (id, verb, target, video_id, done, status_message,"
                " create_time, update_time, end_time, response) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.execute(
                "INSERT INTO jobs (operation_seq) SELECT seq FROM operations WHERE done = 0"
            )
    finally:
        conn.close()


async def _latencies(target: str, requests: list[object], seconds: float) -> list[float]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        found: list[float] = []
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            while (start := time.perf_counter()) < deadline:
                request = random.choice(requests)
                if isinstance(request, operations_pb2.GetOperationRequest):
                    await stub.GetOperation(request)
                else:
                    await stub.ListOperations(request)
                found.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(loop() for _ in range(IN_FLIGHT)))
        return found


def _deep_token(target: str, depth: int) -> str:
    """The page token that starts `depth` rows in."""
    with grpc.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        token = ""
        for size in [1000] * (depth // 1000) + ([depth % 1000] if depth % 1000 else []):
            request = operations_pb2.ListOperationsRequest(
                name="operations", page_size=size, page_token=token
            )
            token = stub.ListOperations(request).next_page_token
        return token


def _measure(size: int, depth: int, seconds: float) -> dict[str, float]:
    """p50 of each read (ms) on a store holding `size` operations."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        seed(data, size, pending_share=0.01)
        with running("--data-dir", str(data), "--no-workers") as server:
            ids = random.sample(range(size), min(size, 1_000))
            gets = [operations_pb2.GetOperationRequest(name=f"operations/seed{n:08d}") for n in ids]
            listing = operations_pb2.ListOperationsRequest(name="operations", page_size=PAGE)
            deep = operations_pb2.ListOperationsRequest(
                name="operations", page_size=PAGE, page_token=_deep_token(server.target, depth)
            )
            pending = operations_pb2.ListOperationsRequest(
                name="operations", page_size=PAGE, filter="done = false"
            )
            cases = {
                "GetOperation": gets,
                "ListOperations, first page": [listing],
                f"ListOperations, a page {depth:,} rows deep": [deep],
                "ListOperations, done = false": [pending],
            }
            return {
                name: statistics.median(asyncio.run(_latencies(server.target, requests, seconds)))
                for name, requests in cases.items()
            }


def history(small: int, large: int, seconds: float) -> list[Result]:
    depth = min(DEEP, small // 2)  # the same depth in both, inside the smaller store
    few, many = _measure(small, depth, seconds), _measure(large, depth, seconds)
    rows = []
    for name in few:
        row = Result(
            "5 history does not slow it down",
            f"{name}: p50 at {large:,} stored",
            many[name], "ms", few[name], f"p50 at {small:,} stored (ms)",
        )  # fmt: skip
        rows.append(ratio_at_most(row, 1.5))
    return rows


def memory(pending: int) -> list[Result]:
    """RSS of a server (with workers) holding `pending` unfinished operations
    against the same server empty."""
    flags = ("--processor", "simulated", "--work-seconds", "3600", "--workers", "2")
    sizes = []
    for count in (0, pending):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            if count:
                seed(data, count, pending_share=1.0)
            with running("--data-dir", str(data), *flags) as server:
                with grpc.insecure_channel(server.target) as channel:
                    stub = operations_pb2_grpc.OperationsStub(channel)
                    for _ in range(20):  # the kind of reads that might cache things
                        stub.ListOperations(
                            operations_pb2.ListOperationsRequest(
                                name="operations", page_size=1000, filter="done = false"
                            )
                        )
                time.sleep(2)  # the workers have claimed what they will
                sizes.append(rss_mb(server.pid))
    idle, busy = sizes
    row = Result(
        "6 memory",
        f"server RSS growth with {pending:,} pending operations",
        busy - idle,
        "MB",
        None,
        "",
    )
    row.notes.append(f"idle {idle:.0f} MB, with the backlog {busy:.0f} MB")
    row.goal, row.passed = "<= 50 MB", busy - idle <= 50
    return [row]
