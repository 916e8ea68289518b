"""The seeds' curl session, run with the real curl binary against a real gateway.

The seeds' POST command does not parse in a POSIX shell (the apostrophe in
"I'm" closes the single-quoted body), so curl gets exactly the arguments the
command means, with no shell in between.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.any_store  # the seeds' curl session, whatever the store

SEED_BODY = '{ "title": "My movie", "plot": "Plot of the movie I\'m about to render" }'


def curl(*args: str) -> tuple[str, str]:
    """(headers as curl -v printed them, body)."""
    binary = shutil.which("curl")
    if binary is None:
        pytest.fail("curl is missing: install it (apt-get install curl) to run the seeds' session")
    result = subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stderr, result.stdout


def header(verbose: str, name: str) -> str:
    match = re.search(rf"^< {name}: (.*?)\r?$", verbose, re.IGNORECASE | re.MULTILINE)
    assert match, f"no {name} header in:\n{verbose}"
    return match.group(1)


def status_line(verbose: str) -> str:
    lines = re.findall(r"^< HTTP/[\d.]+ (\d+)", verbose, re.MULTILINE)
    return lines[-1]


def test_the_seeds_curl_session_works_verbatim(http):
    base = http.url.replace("127.0.0.1", "localhost")
    verbose, body = curl(
        "-v", "--header", "Content-Type: application/json", "--request", "POST",
        "--data", SEED_BODY, f"{base}/videos/tasks",
    )  # fmt: skip
    assert status_line(verbose) == "202"
    task = header(verbose, "Content-Location")
    assert re.fullmatch(r"/videos/tasks/[a-z2-7]{26}", task)
    assert json.loads(body)["status"] == "pending"

    task_id = task.rsplit("/", 1)[1]
    verbose, body = curl("-v", "-X", "GET", f"{base}/video/tasks/{task_id}")
    assert status_line(verbose) == "200"
    assert json.loads(body)["status"] == "pending"

    http.api.processor.gate.set()
    verbose, body = curl("-v", "-X", "GET", f"{base}/video/tasks/{task_id}?wait=10s")
    assert status_line(verbose) == "303"
    assert json.loads(body)["status"] == "done"
    location = header(verbose, "Location")
    assert re.fullmatch(r"/videos/[a-z2-7]{26}", location)

    verbose, body = curl("-v", "-L", f"{base}/video/tasks/{task_id}")
    assert status_line(verbose) == "200"
    video = json.loads(body)
    assert video["title"] == "My movie"
    assert video["plot"] == "Plot of the movie I'm about to render"

    verbose, body = curl("-v", "-X", "GET", f"{base}{location}")
    assert status_line(verbose) == "200"
    assert json.loads(body) == video
