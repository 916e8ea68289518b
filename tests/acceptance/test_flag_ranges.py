"""Every numeric flag of every program is range-checked: an absurd value is
exit 2 with one line naming the flag, never a traceback, a silent wrap-around
(`--listen 127.0.0.1:99999` once listened on 34463) or a NaN that turns a
feature off. The programs run as processes, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
HUGE = "9" * 30
ABSURD = {
    "video-server": [
        ("--listen", "127.0.0.1:99999"),
        ("--listen", f"127.0.0.1:{HUGE}"),
        ("--listen", "127.0.0.1"),
        ("--workers", HUGE),
        ("--workers", "-1"),
        ("--max-backlog", "0"),
        ("--retention-hours", "nan"),
        ("--retention-hours", "inf"),
        ("--lease-seconds", "nan"),
        ("--work-seconds", "nan"),
        ("--work-seconds", "-1"),
        ("--render-size", "100000x100000"),
        ("--render-size", f"{HUGE}x{HUGE}"),
        ("--render-size", "\u00b2x\u00b2"),
        ("--render-memory-mb", HUGE),
        ("--render-fps", HUGE),
        ("--render-seconds", "1e400"),
        ("--rate-limit", "nan"),
        ("--failed-login-limit", "nan"),
        ("--failed-login-limit", "0.5"),  # would never refill: locked out for ever
        ("--trusted-proxies", "10.0.0.0/33"),
        ("--trusted-proxies", "gateway.example"),
        ("--max-calls-in-flight", "0"),
        ("--max-calls-in-flight", HUGE),
        ("--max-waits-per-caller", "0"),
        ("--max-waits-per-caller", "nan"),
        ("--metrics-port", HUGE),
        ("--metrics-port", "65536"),
    ],
    "video-worker": [
        ("--concurrency", HUGE),
        ("--concurrency", "0"),
        ("--lease-seconds", "nan"),
        ("--work-seconds", "inf"),
        ("--metrics-port", "-1"),
    ],
    "video-gateway": [
        ("--listen", "127.0.0.1:99999"),
        ("--listen", f"127.0.0.1:{HUGE}"),
        ("--target", "127.0.0.1:70000"),
        ("--max-waits-per-caller", "0"),
        ("--max-waits-per-address", HUGE),
        ("--max-waits", "nan"),
        ("--max-waits", "5000"),  # more than 4 wait channels carry
        ("--wait-channels", "0"),
        ("--wait-channels", "65"),
        ("--metrics-port", HUGE),
        ("--max-connections", "0"),
        ("--max-connections", "1_000"),
        ("--max-connections", HUGE),
        ("--max-connections-per-address", "0"),
        ("--max-connections-per-address", "1_000"),
        ("--max-connections-per-address", HUGE),
        ("--header-timeout", "1e-300"),
        ("--header-timeout", "nan"),
        ("--body-timeout", "1e-300"),
        ("--body-timeout", "3601"),
        ("--send-timeout", "0"),
        ("--send-timeout", "1e-300"),
        ("--send-timeout", "inf"),
    ],
    "videoctl": [
        ("--target", "127.0.0.1:99999"),
        ("--timeout", "nan"),
        ("--timeout", HUGE),
        ("--timeout", "0"),
    ],
}
CASES = [(command, flag, value) for command, flags in ABSURD.items() for flag, value in flags]


@pytest.mark.parametrize(("command", "flag", "value"), CASES)
def test_an_absurd_number_is_a_one_line_usage_error(command, flag, value, tmp_path):
    extra = ["list"] if command == "videoctl" else ["--data-dir", str(tmp_path)]
    if command == "video-gateway":
        extra = []
    done = subprocess.run(
        [str(BIN / command), flag, value, *extra],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2, (done.returncode, done.stderr)
    last = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and flag.lstrip("-") in last, done.stderr


def test_videoctl_limit_takes_ascii_digits_only():
    done = subprocess.run(
        [str(BIN / "videoctl"), "operations", "list", "--limit", "\u00b2"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
