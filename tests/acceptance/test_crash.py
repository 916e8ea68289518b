"""kill -9 the server again and again while clients create videos: every
operation a client was told about survives and is done exactly once."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from longreel.client import VideoClient

CREATES = 200
KILLS = 5
CLIENTS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """video-server on a fixed port, restartable, killed without warning."""

    def __init__(self, data_dir, port: int, *flags: str) -> None:
        self.command = [
            sys.executable, "-m", "longreel.server", "--listen", f"127.0.0.1:{port}",
            "--data-dir", str(data_dir), "--processor", "simulated",
            "--work-seconds", "0.3", "--lease-seconds", "1",
            "--workers", "4", "--log-level", "error",
            # Every kill costs the jobs in flight an attempt, and a 1 s lease
            # can lapse on a loaded machine: the default 5 could end a job as
            # "gave up" here, and giving up is tested in test_worker_attempts.
            "--max-attempts", "100", *flags,
        ]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert "listening on" in self.process.stdout.readline()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def test_acknowledged_operations_survive_repeated_kill_9(tmp_path, store_flags):
    port = free_port()
    server = Server(tmp_path, port, *store_flags)
    server.start()
    acknowledged: list[str] = []
    last_ack = [0.0]
    kill_times: list[float] = []
    lock = threading.Lock()

    def submit(client_number: int) -> None:
        with VideoClient(f"127.0.0.1:{port}") as client:
            for i in range(CREATES // CLIENTS):
                # The client retries UNAVAILABLE with the same request_id while
                # the server is down, so each logical create is made once.
                # Its deadline covers a restart on a loaded machine: this test is
                # about what survives, not how fast the server comes back.
                op = client.create_video(video={"title": f"Film {client_number}-{i}"}, timeout=60)
                with lock:
                    acknowledged.append(op.name)
                    last_ack[0] = time.monotonic()
                time.sleep(random.uniform(0, 0.2))  # spread the creates over the kills

    kills = 0
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(submit, n) for n in range(CLIENTS)]
            while kills < KILLS:
                time.sleep(random.uniform(0.2, 1.0))
                server.kill()
                kill_times.append(time.monotonic())
                kills += 1
                server.start()
            for future in futures:
                future.result(timeout=180)
        with VideoClient(f"127.0.0.1:{port}") as client:
            results = [client.operation(name=name).result(timeout=60) for name in acknowledged]
            videos = list(client.list_videos())
            operations = list(client.list_operations())
    finally:
        server.kill()

    assert kills == KILLS
    assert kill_times[-1] < last_ack[0]  # every kill landed while creates were being made
    assert len(acknowledged) == len(set(acknowledged)) == CREATES
    assert len(operations) == CREATES  # no operation was made twice
    assert all(op.done and not op.HasField("error") for op in operations)
    assert sorted(v.name for v in videos) == sorted(r.name for r in results)
    assert len(videos) == CREATES  # one video per operation, none twice
