"""Case 4: what the gateway costs. wrk drives POST /videos/tasks and
GET /videos/tasks/{task} through the gateway (with a server behind it), and
the same against a bare Starlette app on uvicorn answering same-sized canned
bodies (bare_app.py), with the same wrk settings in the same run. Nothing is
pinned: on 2 cores, wrk, the gateway and the server share them, which the
baseline (wrk and one process) does not have to."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from .harness import Result, ratio_at_least, running

CONNECTIONS = 64
POST_SCRIPT = """wrk.method = "POST"
wrk.body = '{"title": "Benchmarked", "plot": "Through the gateway."}'
wrk.headers["Content-Type"] = "application/json"
"""


def _wrk(url: str, seconds: float, script: Path | None) -> tuple[float, str]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    note = f"p99 {p99.group(1) if p99 else '?'}" + (f", {bad.group(1)} non-2xx" if bad else "")
    return rate, note


def run(seconds: float) -> list[Result]:
    if shutil.which("wrk") is None:
        return [Result("4 gateway overhead", "skipped: wrk is not installed", 0, "")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(POST_SCRIPT)
        with (
            running("--data-dir", tmp, "--no-workers") as server,
            running(
                "--listen", "127.0.0.1:0", "--target", server.target, program="video-gateway"
            ) as gateway,
        ):
            line = gateway.first_line
            url = line.split("listening on ")[1].split(";")[0]
            made = httpx.post(f"{url}/videos/tasks", json={"title": "Sized"})
            task = made.headers["Content-Location"]
            read = httpx.get(f"{url}{task}")
            sizes = (len(made.content), len(read.content))
            post = _wrk(f"{url}/videos/tasks", seconds, script)
            get = _wrk(f"{url}{task}", seconds, None)
        with running(*map(str, sizes), program="bench.bare_app") as bare:
            bare_url = bare.first_line.split("listening on ")[1].strip()
            bare_post = _wrk(f"{bare_url}/videos/tasks", seconds, script)
            bare_get = _wrk(f"{bare_url}/videos/tasks/x", seconds, None)
    for (label, ours, base) in (("POST /videos/tasks", post, bare_post),
                                ("GET /videos/tasks/{task}", get, bare_get)):  # fmt: skip
        row = Result(
            "4 gateway overhead", f"{label} through the gateway (with the server behind it)",
            ours[0], "req/s", base[0], "bare Starlette, canned body (req/s)",
        )  # fmt: skip
        row.notes.append(f"gateway {ours[1]}; bare {base[1]}")
        rows.append(ratio_at_least(row, 0.5))
    return rows
