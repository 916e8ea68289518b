"""Operations outlive the process: stop (or kill) the server, start it again on
the same data directory, and the pending work finishes and is found by name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..helpers import metadata, until, video, wait

LISTENING = re.compile(r"listening on ([\d.]+:\d+)")


class Process:
    """`video-server` in a subprocess, as a user would run it."""

    def __init__(self, data_dir: Path, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "longreel.server", "--listen", "127.0.0.1:0",
             "--data-dir", str(data_dir), "--processor", "simulated", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        match = LISTENING.search(line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"server did not start: {line}{self.proc.communicate()[1]}")
        self.channel = grpc.insecure_channel(match.group(1))
        self.videos = pb_grpc.VideoServiceStub(self.channel)
        self.operations = operations_pb2_grpc.OperationsStub(self.channel)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.channel.close()
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
            if self.proc.stderr:
                self.proc.stderr.close()


@pytest.fixture
def processes():
    started: list[Process] = []
    yield lambda *a: started.append(Process(*a)) or started[-1]
    for p in started:
        if p.proc.poll() is None:
            p.stop(signal.SIGKILL)


def start_slow_create(server: Process) -> str:
    """Start a create and return once a worker is running it."""
    name = server.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Survivor"))).name

    def taken() -> operations_pb2.Operation | None:
        op = server.operations.GetOperation(operations_pb2.GetOperationRequest(name=name))
        return op if metadata(op).status_message != "queued" else None

    op = until(taken, what="a worker taking the job")
    assert not op.done
    return op.name


def test_a_pending_operation_finishes_after_a_restart(tmp_path, processes, store_flags):
    first = processes(tmp_path, "--work-seconds", "60", *store_flags)
    name = start_slow_create(first)
    assert first.stop(signal.SIGTERM) == 0

    second = processes(tmp_path, "--work-seconds", "0.2", *store_flags)
    done = wait(second, name)
    assert done.done
    assert video(done).title == "Survivor"
    assert second.videos.GetVideo(pb.GetVideoRequest(name=video(done).name)).title == "Survivor"


def test_a_job_whose_server_was_killed_is_taken_over_when_its_lease_expires(
    tmp_path, processes, store_flags
):
    first = processes(tmp_path, "--work-seconds", "60", "--lease-seconds", "1", *store_flags)
    name = start_slow_create(first)
    first.stop(signal.SIGKILL)

    second = processes(tmp_path, "--work-seconds", "0.2", "--lease-seconds", "1", *store_flags)
    done = wait(second, name, seconds=15)
    assert done.done
    assert not done.HasField("error")
    listed = second.videos.ListVideos(pb.ListVideosRequest())
    assert [v.title for v in listed.videos] == ["Survivor"]


def test_a_taken_port_is_an_error_at_start(tmp_path, processes):
    first = processes(tmp_path / "a")
    port = first.channel._channel.target().decode().rsplit(":", 1)[1]  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-m", "longreel.server", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(tmp_path / "b")],
        capture_output=True, text=True, timeout=30, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_says_not_serving_first_and_exits_promptly(tmp_path, processes):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    server = processes(tmp_path, "--work-seconds", "60")
    start_slow_create(server)
    watch = health_pb2_grpc.HealthStub(server.channel).Watch(health_pb2.HealthCheckRequest())
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.proc.wait(timeout=20) == 0
    assert time.monotonic() - started < 10  # the grace period, not the 60 s job
    server.stop()  # closes the channel and the pipes of the exited process
