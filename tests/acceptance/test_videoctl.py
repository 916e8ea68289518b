"""`videoctl` end to end, in a subprocess, as people and scripts use it."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from ..helpers import ctrl_c, until, waiters
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the CLI, not the store, is under test

VIDEOCTL = str(Path(sys.executable).with_name("videoctl"))  # the installed console script


def videoctl(target: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIDEOCTL, "--target", target, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_create_waits_by_default_naming_the_operation_first_then_the_video(api):
    with subprocess.Popen(
        [VIDEOCTL, "--target", api.target, "create", "--title", "My movie", "--plot", "A plot"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        lines = _lines(process.stderr)
        first = lines.get(timeout=30)  # the gate is shut: the name comes before any end
        while "50%  rendering: half way" not in lines.get(timeout=30):
            pass  # the bar moves while the operation runs
        api.processor.gate.set()
        assert process.stdout is not None
        stdout = process.stdout.read()
        assert process.wait(timeout=30) == 0
        rest = "".join(iter(lambda: lines.get(timeout=30), ""))  # to the end of stderr
    (op,) = json.loads(videoctl(api.target, "-o", "json", "operations", "list").stdout)
    assert first == f"Waiting for operation [{op['name']}] to complete...\n"
    assert "100%  done" in rest.splitlines()[-1]
    header, row = stdout.splitlines()
    assert header.split() == ["NAME", "TITLE", "CREATED"]
    assert row.startswith("videos/") and "My movie" in row  # it ends with the video


def _lines(stream: IO[str] | None) -> queue.Queue[str]:
    """The lines of a subprocess's stream as they come, read by a thread;
    "" at the end."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in iter(stream.readline, ""):
            lines.put(line)
        lines.put("")  # the end

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_create_async_answers_at_once_with_the_operation_and_how_to_wait(api):
    result = videoctl(api.target, "-o", "json", "create", "--title", "Later", "--async")
    assert result.returncode == 0, result.stderr
    op = json.loads(result.stdout)
    assert not op.get("done") and op["name"].startswith("operations/")  # the gate is shut
    assert result.stderr == f"Check its progress with: videoctl operations wait {op['name']}\n"
    api.processor.gate.set()
    waited = videoctl(api.target, "operations", "wait", op["name"])
    assert waited.returncode == 0, waited.stderr
    assert "Later" in waited.stdout.splitlines()[1]


def test_wait_is_the_default_and_async_excludes_it(api):
    assert videoctl(api.target, "create", "--title", "T", "--wait", "--async").returncode == 2


def test_delete_waits_and_confirms(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    made = json.loads(videoctl(api.target, "-o", "json", "create", "--title", "Doomed").stdout)
    result = videoctl(api.target, "delete", made["name"])
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == f"Deleted video [{made['name']}]."
    assert videoctl(api.target, "get", made["name"]).returncode == 1


def test_cancel_shows_the_operation_after_the_cancel(api):
    op = json.loads(videoctl(api.target, "-o", "json", "create", "--title", "X", "--async").stdout)
    assert api.processor.started.wait(10)  # a worker holds it: the cancel is asynchronous
    result = videoctl(api.target, "-o", "json", "operations", "cancel", op["name"])
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["done"] and shown["error"]["code"] == 1  # not the RUNNING row of before
    assert result.stderr == f"Cancelled operation [{op['name']}].\n"
    again = videoctl(api.target, "operations", "cancel", op["name"])
    assert again.returncode == 0
    said = f"Operation [{op['name']}] had already finished (CANCELLED); nothing to cancel.\n"
    assert again.stderr == said


def test_deleting_an_operation_confirms_it(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    videoctl(api.target, "create", "--title", "Done")
    (op,) = json.loads(videoctl(api.target, "-o", "json", "operations", "list").stdout)
    result = videoctl(api.target, "operations", "delete", op["name"].removeprefix("operations/"))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"Deleted operation [{op['name']}].\n"
    assert videoctl(api.target, "operations", "get", op["name"]).returncode == 1


def test_list_as_a_table_and_as_json(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    for title in ("First", "Second"):
        assert videoctl(api.target, "create", "--title", title).returncode == 0
    table = videoctl(api.target, "list")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "CREATED"]
    assert [line.split()[1] for line in lines[1:]] == ["First", "Second"]
    listed = json.loads(videoctl(api.target, "--output", "json", "list").stdout)
    assert [v["title"] for v in listed] == ["First", "Second"]
    assert videoctl(api.target, "--format", "value(title)", "list").stdout == "First\nSecond\n"
    second = videoctl(api.target, "list", "--filter", 'title = "Second"').stdout.splitlines()
    assert [line.split()[1] for line in second[1:]] == ["Second"]
    bad = videoctl(api.target, "list", "--filter", 'plot = "x"')
    assert bad.returncode == 1 and bad.stderr.startswith("videoctl: INVALID_ARGUMENT: --filter: ")
    assert all(v["name"].startswith("videos/") and "createTime" in v for v in listed)
    ops = json.loads(videoctl(api.target, "-o", "json", "operations", "list", "--filter",
                              "done = true").stdout)  # fmt: skip
    assert len(ops) == 2 and all(op["done"] for op in ops)


def test_operations_list_shows_the_newest_first_and_the_newest_n_with_a_limit(start_server):
    from ..helpers import create

    api = start_server(GatedProcessor())
    names = [create(api, title=title).name for title in ("First", "Second", "Third")]
    listed = json.loads(videoctl(api.target, "-o", "json", "ops", "list").stdout)
    assert [op["name"] for op in listed] == names[::-1]
    listed = json.loads(videoctl(api.target, "-o", "json", "ops", "list", "--limit", "2").stdout)
    assert [op["name"] for op in listed] == names[:0:-1]  # the two newest, not the two oldest
    table = videoctl(api.target, "ops", "list", "--limit", "1", "--filter", "done = false")
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == names[-1:]
    assert videoctl(api.target, "ops", "list", "--limit", "0").returncode == 2


def test_a_failed_call_is_one_line_and_exit_1(api):
    result = videoctl(api.target, "get", "nope")
    assert result.returncode == 1
    assert result.stderr == "videoctl: NOT_FOUND: videos/nope does not exist\n"
    bad = videoctl(api.target, "create", "--title", "")
    assert bad.returncode == 1
    assert bad.stderr.startswith("videoctl: INVALID_ARGUMENT: --title: ")  # not video.title
    filtered = videoctl(api.target, "operations", "list", "--filter", "bogus = 1")
    assert filtered.returncode == 1
    assert filtered.stderr.startswith("videoctl: INVALID_ARGUMENT: --filter: ")


def test_a_bad_target_is_one_clear_line_and_exit_1():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    result = videoctl(closed, "--timeout", "1", "list")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"videoctl: UNAVAILABLE: cannot reach {closed}")
    assert "Traceback" not in result.stderr


def test_nothing_listening_fails_at_once_rather_than_retrying():
    """With the default 10 s timeout: a retried call would end with "cannot
    reach ... within 10 s", after ten seconds; the first refusal ends it."""
    for command in (["operations", "list"], ["create", "--title", "T"], ["list"]):
        result = videoctl("127.0.0.1:1", *command, timeout=30)
        assert result.returncode == 1
        assert (
            result.stderr == "videoctl: UNAVAILABLE: cannot reach 127.0.0.1:1: connection refused\n"
        )


def test_bad_usage_is_exit_2(api):
    assert videoctl(api.target, "bogus").returncode == 2
    assert videoctl(api.target, "create").returncode == 2  # --title is required


def test_interrupting_a_wait_can_cancel_the_operation(api):
    process = subprocess.Popen(
        [VIDEOCTL, "--target", api.target,
         "create", "--title", "Interrupted", "--cancel-on-interrupt"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    assert api.processor.started.wait(10)
    until(lambda: waiters(api), what="videoctl waiting")  # interrupted in its wait
    stderr = ctrl_c(process)
    assert process.returncode == 130
    assert "asked operations/" in stderr and "to cancel" in stderr
    (op,) = json.loads(videoctl(api.target, "-o", "json", "operations", "list").stdout)
    assert stderr.startswith(f"Waiting for operation [{op['name']}]")  # the name came first
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


def test_a_server_that_answered_once_is_waited_for_through_a_restart(start_server, tmp_path):
    """Failing fast is for a server never reached: once `create` was answered,
    the wait rides out the server going away and coming back."""
    data = tmp_path / "restarted"
    first = start_server(GatedProcessor(), data_dir=data, workers=0)  # nobody takes the job
    with subprocess.Popen(
        [VIDEOCTL, "--target", first.target, "create", "--title", "Survivor"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        lines = _lines(process.stderr)
        assert lines.get(timeout=30).startswith("Waiting for operation [operations/")
        first.server.stop()
        start_server(GatedProcessor(open_gate=True), data_dir=data, listen=first.target)
        assert process.stdout is not None
        stdout = process.stdout.read()
        assert process.wait(timeout=60) == 0, "".join(iter(lambda: lines.get(timeout=30), ""))
    assert "Survivor" in stdout.splitlines()[1]
