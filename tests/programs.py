"""Our programs as real processes, as an operator runs them, for the tests
that read their logs."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


class Program:
    """One of our programs as a process; its stderr, the log, goes to a file
    (a pipe nobody reads could fill and stall it)."""

    def __init__(self, log_file: Path, command: str, *args: str) -> None:
        self.log_file = log_file
        with log_file.open("w") as err:
            self.process = subprocess.Popen(
                [str(BIN / command), *args], stdout=subprocess.PIPE, stderr=err, text=True
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert "listening on" in line, f"{command} did not start: {log_file.read_text()}"
        self.address = line.split("listening on ")[1].split()[0].rstrip(";")

    def stop(self) -> str:
        """Stop it as an operator would (SIGTERM); the whole log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()
        return self.log_file.read_text()


def server_args(tmp_path: Path, *extra: str) -> list[str]:
    data = ["--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")]
    return [*data, "--processor", "simulated", "--work-seconds", "0", *extra]
