"""Case 10: an attacker does not take the service away from honest callers.

For each kind of attacker in attacks.py (run as a process of its own, from
another loopback address), an honest caller reads a task through the gateway
with a few requests in flight, and a long poll of one second now and then.
Its p99 during the attack is set against the same caller's p99 without one,
measured in the same run on the same programs. Failed honest requests and
the gateway's memory during the attack go into the notes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .attacks import ATTACKS
from .harness import Result, percentile, ratio_at_most, rss_mb, running

IN_FLIGHT = 4  # honest requests at once
RAMP = 2.0  # seconds (at most) the attacker gets to open its connections before measuring
RENDER_KINDS = ("render-bomb",)  # need a server with workers; the rest one without
LONG_POLL_KINDS = ("long-poll-hoard",)
SETTLE = 30.0  # seconds at most for the gateway to shed an attacker's connections


@dataclass
class Honest:
    latencies: list[float] = field(default_factory=list)  # reads, ms
    waits: list[float] = field(default_factory=list)  # 1 s long polls, ms
    failures: Counter[str] = field(default_factory=Counter)

    def p99(self, long_polls: bool = False) -> float:
        return percentile((self.waits if long_polls else self.latencies) or [0.0], 99)


async def _honest(url: str, task: str, seconds: float) -> Honest:
    found = Honest()
    until = time.perf_counter() + seconds
    # A connection per request, as new visitors come: an attack on
    # connections shows in the honest figures only to callers who connect.
    limits = httpx.Limits(max_connections=IN_FLIGHT + 1, max_keepalive_connections=0)
    # The attacker shares our loopback address: a credential of its own makes
    # the honest caller another caller to the gateway's caps on held calls.
    honest = {"Authorization": "Bearer honest-caller"}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=honest) as client:

        async def reads() -> None:
            while (start := time.perf_counter()) < until:
                try:
                    answer = await client.get(task)
                except httpx.HTTPError as exc:
                    found.failures[type(exc).__name__] += 1
                    continue
                if answer.status_code not in (200, 303):
                    found.failures[str(answer.status_code)] += 1
                    continue
                found.latencies.append((time.perf_counter() - start) * 1000)

        async def waits() -> None:
            while (start := time.perf_counter()) < until:
                try:
                    answer = await client.get(task, params={"wait": "1s"})
                except httpx.HTTPError as exc:
                    found.failures[f"wait {type(exc).__name__}"] += 1
                    continue
                if answer.status_code not in (200, 303):
                    found.failures[f"wait {answer.status_code}"] += 1
                    continue
                found.waits.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(waits(), *(reads() for _ in range(IN_FLIGHT)))
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (a server and its renders)."""
    total, pending = 0.0, [pid]
    while pending:
        each = pending.pop()
        try:
            total += rss_mb(each)
            for task in Path(f"/proc/{each}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, RuntimeError):  # it ended meanwhile
            continue
    return total


def _measure(url: str, task: str, seconds: float, pids: tuple[int, int]) -> tuple[Honest, Peaks]:
    """The honest caller's figures, and the largest RSS meanwhile of the
    gateway and of the server with its renders (MB)."""
    peaks = Peaks(rss_mb(pids[0]), tree_rss_mb(pids[1]))

    async def both() -> Honest:
        job = asyncio.ensure_future(_honest(url, task, seconds))
        while not job.done():
            peaks.gateway = max(peaks.gateway, rss_mb(pids[0]))
            peaks.server = max(peaks.server, tree_rss_mb(pids[1]))
            await asyncio.sleep(0.2)
        return await job

    return asyncio.run(both()), peaks


@dataclass
class Peaks:
    gateway: float
    server: float


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settle(pid: int, files: int) -> None:
    """Wait (30 s at most) for the gateway to close what the last attacker
    left open, so that the next quiet figure is quiet."""
    until = time.monotonic() + SETTLE
    while _open_files(pid) > files + 16 and time.monotonic() < until:
        time.sleep(0.2)


def _attack(kind: str, url: str, task: str, seconds: float, pids: tuple[int, int]) -> Result:
    files = _open_files(pids[0])
    quiet, calm = _measure(url, task, seconds, pids)
    ramp = min(RAMP, seconds)
    attacker = subprocess.Popen(
        [sys.executable, "-m", "bench.attacks", kind, url, f"{seconds + ramp + 1:g}", task],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(ramp)
        loud, peaks = _measure(url, task, seconds, pids)
        said, _ = attacker.communicate(timeout=seconds + 60)
    finally:
        attacker.kill()
        _settle(pids[0], files)
    # Against a hoarder, what matters is the honest caller's own long polls.
    polls = kind in LONG_POLL_KINDS
    what = "1 s long poll" if polls else "read"
    row = Result(
        "10 hostile callers", f"honest {what} p99 under {kind}", loud.p99(polls), "ms",
        quiet.p99(polls), "the same, no attacker (ms)",
    )  # fmt: skip
    row.notes.append(
        f"peak RSS: gateway {calm.gateway:.0f} -> {peaks.gateway:.0f} MB,"
        f" server and renders {calm.server:.0f} -> {peaks.server:.0f} MB"
    )
    if loud.failures or quiet.failures:
        row.notes.append(f"honest failures {dict(loud.failures)} (quiet {dict(quiet.failures)})")
    row.notes.append(f"{len(loud.waits)} honest long polls answered ({len(quiet.waits)} quiet)")
    with_said = json.loads(said.strip().splitlines()[-1]) if said.strip() else {}
    row.notes.append(f"attacker answered {with_said.get('statuses', {})}")
    ratio_at_most(row, 2)
    if loud.failures or not (loud.waits if polls else loud.latencies):
        row.passed = False  # a ratio of what did get through hides what did not
    return row


def _gateway_url(line: str) -> str:
    return line.split("listening on ")[1].split(";")[0]


def _rows(kinds: list[str], server_args: list[str], seconds: float) -> list[Result]:
    rows = []
    with (
        tempfile.TemporaryDirectory() as data,
        running("--data-dir", data, *server_args) as server,
        running(
            "--listen", "127.0.0.1:0", "--target", server.target, program="video-gateway"
        ) as gateway,
    ):
        url = _gateway_url(gateway.first_line)
        made = httpx.post(f"{url}/videos/tasks", json={"title": "Honest"})
        task = made.headers["Content-Location"]
        for kind in kinds:
            rows.append(_attack(kind, url, task, seconds, (gateway.pid, server.pid)))
    return rows


def run(seconds: float) -> list[Result]:
    plain = [kind for kind in ATTACKS if kind not in RENDER_KINDS]
    # No workers: the honest task stays pending, so long polls hold for real.
    rows = _rows(plain, ["--no-workers"], seconds)
    rows += _rows(list(RENDER_KINDS), ["--workers", "2"], seconds)
    return rows
