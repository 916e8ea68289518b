"""`make bench`: the service against its own physical limits, side by side in
one run. Each case's figure is set against a baseline measured in the same
run on the same machine; the table says whether the goal was met.

    python -m bench.run [--profile quick|full|smoke] [--only 1,3] [--no-postgres]

quick (the default) takes about three minutes; full (`make bench FULL=1`)
uses the large sizes (a million stored operations, 5,000 long polls); smoke
is tiny, for the test that keeps this harness from rotting. Results go to
bench/results/<time>-<profile>.{json,md}; quick and full also rewrite the
summary in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from . import (
    case_gateway,
    case_history,
    case_hostile,
    case_longpoll,
    case_media,
    case_rates,
    case_render,
    notice,
)
from .harness import Result

HERE = Path(__file__).parent
PROFILES: dict[str, dict[str, float]] = {
    "smoke": {"seconds": 0.3, "notice": 4, "small": 200, "large": 1_000, "pending": 500,
              "waiters": 20, "wait_work": 3.0, "render": 10.0, "media_mb": 8},
    "quick": {"seconds": 3.0, "notice": 30, "small": 10_000, "large": 100_000,
              "pending": 100_000, "waiters": 1_000, "wait_work": 15.0, "render": 60.0,
              "media_mb": 100},
    "full": {"seconds": 10.0, "notice": 60, "small": 10_000, "large": 1_000_000,
             "pending": 100_000, "waiters": 5_000, "wait_work": 30.0, "render": 60.0,
             "media_mb": 100},
}  # fmt: skip


def cases(p: dict[str, float], postgres: bool) -> dict[str, Callable[[], list[Result]]]:
    seconds = p["seconds"]
    return {
        "1,2,9": lambda: case_rates.run(seconds, postgres),
        "3": lambda: notice.run(int(p["notice"]), postgres),
        "4": lambda: case_gateway.run(seconds),
        "5": lambda: case_history.history(int(p["small"]), int(p["large"]), seconds),
        "6": lambda: case_history.memory(int(p["pending"])),
        "7": lambda: case_longpoll.run(int(p["waiters"]), p["wait_work"]),
        "8": lambda: case_render.run(seconds, p["render"]),
        "10": lambda: case_hostile.run(seconds),
        "11": lambda: case_media.run(p["media_mb"]),
    }


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def table(rows: list[Result]) -> str:
    lines = [
        "| case | figure | value | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = f"{r.baseline:,.1f} ({r.baseline_name})" if r.baseline is not None else ""
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        met = {True: "pass", False: "short", None: ""}[r.passed]
        figure = r.figure + (f" ({'; '.join(r.notes)})" if r.notes else "")
        value = f"{r.value:,.1f} {r.unit}"
        lines.append(f"| {r.case} | {figure} | {value} | {base} | {ratio} | {r.goal} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick")
    parser.add_argument("--only", default="", help="comma-separated case numbers, e.g. 1,3")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL cases")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    wanted = {c for c in args.only.split(",") if c}
    rows: list[Result] = []
    began = time.monotonic()
    for key, case in cases(PROFILES[args.profile], not args.no_postgres).items():
        if wanted and not wanted & set(key.split(",")):
            continue
        print(f"case {key} ...", file=sys.stderr, flush=True)
        try:
            rows += case()
        except Exception as exc:  # one broken case must not hide the others' figures
            traceback.print_exc()
            rows.append(Result(key, f"failed: {type(exc).__name__}: {exc}", 0, "", passed=False))
    took = time.monotonic() - began
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    header = (
        f"`python -m bench.run --profile {args.profile}` on {stamp}, {machine()};"
        f" {took:.0f} s in all."
    )
    report = f"{header}\n\n{table(rows)}\n"
    print(report)
    args.results.mkdir(parents=True, exist_ok=True)
    base = args.results / f"{stamp}-{args.profile}"
    data = {"profile": args.profile, "when": stamp, "machine": machine(), "seconds": took,
            "results": [{**asdict(r), "ratio": r.ratio} for r in rows]}  # fmt: skip
    base.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    base.with_suffix(".md").write_text(report)
    if args.profile != "smoke" and not wanted:
        _update_summary(report)
    if any(r.passed is False for r in rows if r.figure.startswith("failed")):
        sys.exit(1)


def _update_summary(report: str) -> None:
    """Replace the generated part of docs/benchmarks.md, keeping the prose around it."""
    path = HERE.parent / "docs" / "benchmarks.md"
    start, end = "<!-- latest run: begin -->", "<!-- latest run: end -->"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{start}\n{report}{end}{after}")


if __name__ == "__main__":
    main()
