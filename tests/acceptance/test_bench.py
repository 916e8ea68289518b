"""The benchmark harness on its tiny profile, so that it cannot rot: every
case runs against real servers and reports a figure. No time is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.timeout(300)  # every case, each with its servers (and case 11 its S3 server)
def test_every_benchmark_case_runs_and_reports(tmp_path, postgres_database):
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--profile", "smoke", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (saved,) = tmp_path.glob("*-smoke.json")
    rows = json.loads(saved.read_text())["results"]
    assert not [r for r in rows if r["figure"].startswith(("failed", "skipped"))], rows
    cases = {r["case"].split(":")[-1].strip().split()[0] for r in rows}
    assert cases == {"1", "2", "3", "4", "5", "6", "7", "8", "10", "11"}
    assert any(r["case"].startswith("9 ") for r in rows)
    assert all(r["value"] >= 0 for r in rows)
    assert (tmp_path / saved.name.replace(".json", ".md")).read_text().startswith("`python -m")
