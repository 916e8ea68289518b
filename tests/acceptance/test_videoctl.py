"""`videoctl` end to end, in a subprocess, as people and scripts use it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import until, waiters
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the CLI, not the store, is under test

VIDEOCTL = str(Path(sys.executable).with_name("videoctl"))  # the installed console script


def videoctl(target: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIDEOCTL, "--target", target, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_create_wait_shows_progress_and_ends_with_the_operation(start_server):
    api = start_server(GatedProcessor())
    import threading

    threading.Timer(1.5, api.processor.gate.set).start()
    result = videoctl(api.target, "create", "--title", "My movie", "--plot", "A plot", "--wait")
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    assert any("50%  rendering: half way" in line for line in progress), result.stderr
    assert "100%  done" in progress[-1]
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "TITLE", "CREATED"]
    assert row.startswith("videos/") and "My movie" in row  # it ends with the video


def test_list_as_a_table_and_as_json(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    for title in ("First", "Second"):
        assert videoctl(api.target, "create", "--title", title, "--wait").returncode == 0
    table = videoctl(api.target, "list")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "CREATED"]
    assert [line.split()[1] for line in lines[1:]] == ["First", "Second"]
    listed = json.loads(videoctl(api.target, "--output", "json", "list").stdout)
    assert [v["title"] for v in listed] == ["First", "Second"]
    assert all(v["name"].startswith("videos/") and "createTime" in v for v in listed)
    ops = json.loads(videoctl(api.target, "-o", "json", "operations", "list", "--filter",
                              "done = true").stdout)  # fmt: skip
    assert len(ops) == 2 and all(op["done"] for op in ops)


def test_operations_list_stops_at_the_limit(start_server):
    from ..helpers import create

    api = start_server(GatedProcessor())
    names = [create(api, title=title).name for title in ("First", "Second", "Third")]
    listed = json.loads(videoctl(api.target, "-o", "json", "ops", "list", "--limit", "2").stdout)
    assert [op["name"] for op in listed] == names[:2]  # oldest first, as without a limit
    assert videoctl(api.target, "ops", "list", "--limit", "0").returncode == 2


def test_a_failed_call_is_one_line_and_exit_1(api):
    result = videoctl(api.target, "get", "nope")
    assert result.returncode == 1
    assert result.stderr == "videoctl: NOT_FOUND: videos/nope does not exist\n"
    bad = videoctl(api.target, "create", "--title", "")
    assert bad.returncode == 1
    assert bad.stderr.startswith("videoctl: INVALID_ARGUMENT: video.title")


def test_a_bad_target_is_one_clear_line_and_exit_1():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    result = videoctl(closed, "--timeout", "1", "list")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"videoctl: UNAVAILABLE: cannot reach {closed}")
    assert "Traceback" not in result.stderr


def test_bad_usage_is_exit_2(api):
    assert videoctl(api.target, "bogus").returncode == 2
    assert videoctl(api.target, "create").returncode == 2  # --title is required


def test_interrupting_a_wait_can_cancel_the_operation(api):
    process = subprocess.Popen(
        [VIDEOCTL, "--target", api.target,
         "create", "--title", "Interrupted", "--wait", "--cancel-on-interrupt"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert api.processor.started.wait(10)
    until(lambda: waiters(api), what="videoctl waiting")  # interrupted in its wait
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "asked operations/" in stderr and "to cancel" in stderr
    (op,) = json.loads(videoctl(api.target, "-o", "json", "operations", "list").stdout)
    assert op["done"] and op["error"]["code"] == 1
    shown = json.loads(videoctl(api.target, "-o", "json", "operations", "get", op["name"]).stdout)
    assert shown == op


def test_bad_flag_values_are_usage_errors(api):
    for args in (["--timeout", "0", "list"], ["--timeout", "nan", "list"]):
        assert videoctl(api.target, *args).returncode == 2
    for target in ("", "localhost"):
        result = videoctl(target, "list")
        assert result.returncode == 2
        assert "HOST:PORT" in result.stderr


def test_a_reader_that_leaves_early_gets_no_traceback(start_server):
    from ..helpers import create

    api = start_server(GatedProcessor(open_gate=True))
    for i in range(300):  # far more JSON than a pipe buffers
        create(api, title=f"Film {i}")
    pipeline = subprocess.run(
        f"{VIDEOCTL} --target {api.target} -o json operations list | head -c 10",
        shell=True, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert len(pipeline.stdout) == 10
    assert "Traceback" not in pipeline.stderr
