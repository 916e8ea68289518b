"""Every program names a bad VIDEO_* variable in one line (exit 2) and shows
each variable beside its default in --help: the programs run as processes,
as an operator runs them. The flag helper itself: tests/unit/test_env_flags.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("command", "variable", "value", "args"),
    [
        ("video-server", "VIDEO_WORKERS", "-1", []),
        ("video-server", "VIDEO_PROCESSOR", "magic", []),
        ("video-server", "VIDEO_MAX_ATTEMPTS", "0", []),
        ("video-server", "VIDEO_RENDER_SIZE", "15x15", []),
        ("video-worker", "VIDEO_MAX_ATTEMPTS", "101", []),
        ("video-worker", "VIDEO_LEASE_SECONDS", "nan", []),
        ("video-gateway", "VIDEO_GATEWAY_MAX_WAITS", "0", []),
        ("video-gateway", "VIDEO_TARGET", "nowhere", []),
        ("videoctl", "VIDEO_TARGET", "127.0.0.1:99999", ["list"]),
    ],
)
def test_every_program_names_a_bad_variable(command, variable, value, args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEO_")}
    done = subprocess.run(
        [str(BIN / command), *args], capture_output=True, text=True, timeout=30,
        env={**env, variable: value, "VIDEO_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{command}: error: argument --") and variable in last, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["video-server", "video-worker", "video-gateway", "videoctl"])
def test_help_shows_each_variable_and_its_value_as_the_default(command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEO_")}
    done = subprocess.run(
        [str(BIN / command), "--help"], capture_output=True, text=True, timeout=30,
        env={**env, "VIDEO_TARGET": "127.0.0.1:50999", "VIDEO_LOG_LEVEL": "loud"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # a bad variable does not stop --help
    text = " ".join(done.stdout.split())
    if command == "videoctl":
        assert "[VIDEO_TARGET]" in text and "127.0.0.1:50999" in text
    else:
        assert "[VIDEO_LOG_LEVEL] (default: loud)" in text
    if command in ("video-server", "video-worker"):
        assert "[VIDEO_MAX_ATTEMPTS] (default: 5)" in text
