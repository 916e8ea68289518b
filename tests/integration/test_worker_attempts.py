"""video-worker runs a failing job as many times as --max-attempts says, as
the server's own workers do: both build their pool from the one Config."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.rpc import code_pb2

from longreel.server.config import Config
from longreel.server.worker_main import VideoWorker

from ..helpers import create, wait
from ..processors import GatedProcessor


def failing(times: int) -> GatedProcessor:
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = RuntimeError("renderer crashed"), times
    return processor


@pytest.fixture
def run_worker() -> Iterator[object]:
    """Start VideoWorkers on loops of their own; each is stopped at the end."""
    running: list[tuple[VideoWorker, asyncio.AbstractEventLoop, threading.Thread]] = []

    def start(config: Config, processor: GatedProcessor) -> VideoWorker:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        worker = VideoWorker(config, processor=processor)
        asyncio.run_coroutine_threadsafe(worker.start(), loop).result(timeout=30)
        running.append((worker, loop, thread))
        return worker

    yield start
    for worker, loop, thread in running:
        asyncio.run_coroutine_threadsafe(worker.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.mark.parametrize("attempts", [1, 3])
def test_the_worker_gives_up_after_its_max_attempts(start_server, run_worker, tmp_path, attempts):
    data = tmp_path / "data"
    api = start_server(data_dir=data, workers=0)  # the API only: the worker runs the job
    processor = failing(times=99)
    run_worker(Config(data_dir=Path(data), workers=1, max_attempts=attempts), processor)
    done = wait(api, create(api, title="Doomed").name, seconds=30)
    assert done.error.code == code_pb2.INTERNAL
    assert f"failed after {attempts} attempts: renderer crashed" in done.error.message
    assert processor.attempts == attempts
