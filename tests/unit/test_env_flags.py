"""Every program reads its flags' VIDEO_* variables one way (common/flags.py):
the command line wins, then a variable that is set and not empty, then the
default; a bad variable is exit 2 with one line naming it; --help shows each
variable beside its default. And both server and worker build their Config
from the flags in one place, --max-attempts included."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from longreel.common import numbers
from longreel.common.flags import add_flag
from longreel.server import __main__ as server_main
from longreel.server import flags, worker_main
from longreel.server.config import Config
from longreel.server.processor import Profile


def parser_with_workers() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prog", exit_on_error=True)
    add_flag(parser, "--workers", env="VIDEO_T_WORKERS", type=numbers.int_flag(0, 9),
             default="2", help="how many")  # fmt: skip
    add_flag(parser, "--form", env="VIDEO_T_FORM", choices=("text", "json"), default="text",
             help="how")  # fmt: skip
    add_flag(parser, "--name", env="VIDEO_T_NAME", help="who")
    return parser


@pytest.fixture
def clean_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("VIDEO_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_the_command_line_wins_then_the_variable_then_the_default(clean_env):
    assert vars(parser_with_workers().parse_args([])) == {
        "workers": 2, "form": "text", "name": None,
    }  # fmt: skip
    clean_env.setenv("VIDEO_T_WORKERS", "7")
    clean_env.setenv("VIDEO_T_FORM", "json")
    clean_env.setenv("VIDEO_T_NAME", "alice")
    args = parser_with_workers().parse_args([])
    assert (args.workers, args.form, args.name) == (7, "json", "alice")
    args = parser_with_workers().parse_args(["--workers", "3", "--form", "text", "--name", "bob"])
    assert (args.workers, args.form, args.name) == (3, "text", "bob")


def test_an_empty_variable_is_unset(clean_env):
    for name in ("VIDEO_T_WORKERS", "VIDEO_T_FORM", "VIDEO_T_NAME"):
        clean_env.setenv(name, "")
    assert vars(parser_with_workers().parse_args([])) == {
        "workers": 2, "form": "text", "name": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "flag"),
    [("VIDEO_T_WORKERS", "10", "--workers"), ("VIDEO_T_FORM", "xml", "--form")],
)
def test_a_bad_variable_is_a_usage_error_naming_it(clean_env, capsys, variable, value, flag):
    clean_env.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        parser_with_workers().parse_args([])
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"prog: error: argument {flag}: {variable}={value!r}: must be"), last


def test_a_bad_variable_is_not_read_when_the_flag_is_given(clean_env):
    clean_env.setenv("VIDEO_T_WORKERS", "many")
    assert parser_with_workers().parse_args(["--workers", "4"]).workers == 4


@pytest.mark.parametrize("main", [server_main, worker_main])
def test_max_attempts_reaches_the_config_of_server_and_worker(main, clean_env, tmp_path):
    base = ["--data-dir", str(tmp_path)]
    assert flags.to_config(main.parse_args(base)).max_attempts == 5 == Config().max_attempts
    assert flags.to_config(main.parse_args([*base, "--max-attempts", "2"])).max_attempts == 2
    clean_env.setenv("VIDEO_MAX_ATTEMPTS", "100")
    assert flags.to_config(main.parse_args(base)).max_attempts == 100


def test_server_and_worker_flags_build_the_same_work_config(clean_env, tmp_path):
    argv = ["--data-dir", str(tmp_path), "--database", "postgresql://db/videos",
            "--processor", "simulated", "--work-seconds", "0.5", "--lease-seconds", "7",
            "--render-size", "320x240", "--render-fps", "12", "--max-attempts", "3"]  # fmt: skip
    server = flags.to_config(server_main.parse_args([*argv, "--workers", "4"]))
    worker = flags.to_config(worker_main.parse_args([*argv, "--concurrency", "4"]))
    assert server == worker == Config(
        data_dir=tmp_path, database="postgresql://db/videos", workers=4,
        processor="simulated", work_seconds=0.5, lease_seconds=7.0, max_attempts=3,
        profile=Profile(320, 240, 12, 10.0),
    )  # fmt: skip


def test_the_server_flags_reach_their_config_fields(clean_env, tmp_path):
    clean_env.setenv("VIDEO_TRUSTED_PROXIES", "none")
    config = flags.to_config(
        server_main.parse_args(
            ["--data-dir", str(tmp_path), "--no-workers", "--retention-hours", "2",
             "--auth", "jwt", "--jwt-key", "k.pem", "--no-reflection", "--metrics-port", "0"]
        )
    )  # fmt: skip
    assert (config.workers, config.retention_seconds, config.auth) == (0, 7200.0, "jwt")
    assert (config.jwt_key, config.reflection, config.metrics_port) == (Path("k.pem"), False, 0)
    assert config.trusted_proxies == "none"
