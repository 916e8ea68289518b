"""`videoctl operations list --watch`: the real CLI against a real server,
its output a pipe (a line per change), stopped with Ctrl-C as people do."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.longrunning import operations_pb2
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2
from rich.console import Console

from longreel.client import live_table, watch
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, ctrl_c, metadata, wait
from ..processors import GatedProcessor
from .test_videoctl import VIDEOCTL, videoctl

NOW = int(time.time())
SEEN = 30.0  # seconds to wait for a line; generous, the cadence is about a second


class Watcher:
    """A watching videoctl whose stdout lines a test waits for, one by one."""

    def __init__(self, target: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [VIDEOCTL, "--target", target, *args, "operations", "list", "--watch"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # stacks, should Ctrl-C not end it
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, found: Callable[[str], bool]) -> str:
        """The first line from here on that `found` accepts."""
        while True:
            try:
                line = self.lines.get(timeout=SEEN)
            except queue.Empty:
                raise AssertionError(f"not seen; the watch said {self.seen}") from None
            self.seen.append(line)
            if found(line):
                return line

    def wait_for_each(
        self, names: set[str], found: Callable[[list[str]], bool]
    ) -> dict[str, list[str]]:
        """For each of `names`, the first row that `found` accepts, in whatever order they come."""
        rows: dict[str, list[str]] = {}

        def take(line: str) -> bool:
            if row(line)[0] in names and row(line)[0] not in rows and found(row(line)):
                rows[row(line)[0]] = row(line)
            return rows.keys() == names

        self.wait_for(take)
        return rows

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit code and what it wrote on stderr."""
        stderr = ctrl_c(self.process, SEEN)
        return self.process.returncode, stderr


@pytest.fixture
def start_watch() -> Iterator[Callable[..., Watcher]]:
    started: list[Watcher] = []

    def start(target: str, *args: str) -> Watcher:
        started.append(Watcher(target, *args))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            each.process.kill()
            each.process.communicate()


def row(line: str) -> list[str]:
    """NAME VERB TARGET STATE PROGRESS MESSAGE, as `operations list` prints them."""
    return line.split(maxsplit=5)


def test_a_line_per_change_until_ctrl_c_ends_it_with_0(start_server, start_watch):
    api = start_server(GatedProcessor())
    keep, drop = create(api, title="Keep"), create(api, title="Drop")
    watcher = start_watch(api.target)
    rows = watcher.wait_for_each({keep.name, drop.name}, lambda row: row[4] == "50%")
    for each in rows.values():
        assert each[1] == "create" and each[3:] == ["RUNNING", "50%", "rendering: half way"]
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=drop.name))
    line = watcher.wait_for(lambda line: row(line)[0] == drop.name)
    assert row(line)[3] == "CANCELLED"
    late = create(api, title="Late")  # started after the watch: it shows up too
    watcher.wait_for(lambda line: row(line)[0] == late.name and row(line)[3] == "RUNNING")
    api.processor.gate.set()
    rows = watcher.wait_for_each({keep.name, late.name}, lambda row: row[3] != "RUNNING")
    assert [each[3:] for each in rows.values()] == [["DONE", "100%", "done"]] * 2
    code, stderr = watcher.interrupt()
    assert code == 0
    assert stderr == ""  # no traceback, nothing at all


def test_as_json_one_operation_a_line(start_server, start_watch):
    api = start_server(GatedProcessor())
    op = create(api)
    watcher = start_watch(api.target, "--output", "json")
    running = json.loads(watcher.wait_for(lambda line: op.name in line))
    assert running["name"] == op.name and not running.get("done")
    api.processor.gate.set()
    done = json.loads(watcher.wait_for(lambda line: json.loads(line).get("done", False)))
    assert done["name"] == op.name
    assert done["response"]["title"] == "My movie"
    assert done["metadata"]["progressPercent"] == 100
    code, stderr = watcher.interrupt()
    assert (code, stderr) == (0, "")


def test_watching_a_dead_target_is_one_line_and_exit_1():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    result = videoctl(closed, "--timeout", "1", "operations", "list", "--watch")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"videoctl: UNAVAILABLE: cannot reach {closed}")


def test_the_watch_query_keeps_the_callers_filter(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    before = wait(api, create(api, title="Before").name)
    since = timestamp_pb2.Timestamp()
    since.CopyFrom(metadata(before).create_time)
    since.FromMicroseconds(since.ToMicroseconds() + 1)
    after = wait(api, create(api, title="After").name)
    third = create(api, title="Third", video_id="third")

    def listed(query: str) -> set[str]:
        request = operations_pb2.ListOperationsRequest(filter=watch._query(query, since))
        return {op.name for op in api.operations.ListOperations(request, timeout=10).operations}

    assert before.name not in listed("") and after.name in listed("")
    assert listed('metadata.target = "videos/third"') == {third.name}


def test_a_newer_copy_is_never_replaced_and_finished_rows_leave_first():
    board = watch.Board(limit=2)
    old = _op("a", created=1, updated=5, percent=50)
    assert board.put(old)
    assert not board.put(_op("a", created=1, updated=4, percent=10))  # an older listing
    assert board.put(_op("b", created=2, updated=2, done=True))
    assert board.put(_op("c", created=3, updated=3))
    assert [op.name for op in board.rows()] == ["operations/c", "operations/a"]


def test_the_live_table_shows_each_operation_with_its_state():
    ops = [
        _op("running", created=4, updated=4, percent=40, message="rendering: step 5 of 10"),
        _op("failed", created=3, updated=3, done=True, code=code_pb2.INTERNAL),
        _op("stopped", created=2, updated=2, done=True, code=code_pb2.CANCELLED),
        _op("finished", created=1, updated=1, done=True, percent=100, message="done"),
    ]
    console = Console(record=True, width=140)
    console.print(live_table.table(ops))
    text = console.export_text()
    header = text.splitlines()[1].split()
    assert header == ["OPERATION", "VERB", "TARGET", "STATE", "PROGRESS", "MESSAGE", "CREATED",
                      "ENDED"]  # fmt: skip
    lines = {line.split()[0]: line for line in text.splitlines()[3:] if line.strip()}
    assert "RUNNING" in lines["running"] and "40%" in lines["running"]
    assert "rendering: step 5 of 10" in lines["running"]
    assert "INTERNAL" in lines["failed"]
    assert "CANCELLED" in lines["stopped"]
    assert "DONE" in lines["finished"] and "100%" in lines["finished"]


def _op(
    name: str, *, created: int, updated: int, done: bool = False, code: int = 0, **shown: Any
) -> operations_pb2.Operation:
    """An operation whose times are seconds after NOW."""
    meta = pb.OperationMetadata(
        verb="create",
        target=f"videos/{name}",
        progress_percent=shown.get("percent", 0),
        status_message=shown.get("message", ""),
    )
    meta.create_time.FromSeconds(NOW + created)
    meta.update_time.FromSeconds(NOW + updated)
    if done:
        meta.end_time.FromSeconds(NOW + updated)
    op = operations_pb2.Operation(name=f"operations/{name}", done=done)
    op.metadata.Pack(meta)
    if code:
        op.error.code = code
    elif done:
        op.response.Pack(pb.Video(name=f"videos/{name}"))
    return op
